"""民族团结之星 pages: the committee's cycles (create, review the evidence, vote, run the public
notice, publish, revoke), the public notice where residents object, the honor roll (光荣榜), and
certificate verification (the page a certificate's QR code opens).

Every page reads and writes through the ledger's award API with the signed-in person's token
(public pages with web's own), so the ledger decides who may see and do what. A refused form is
shown again with the ledger's message beside it and the ledger's status code; nothing here
touches the ledger's tables.

One blueprint, ``awards``, in two modules: ``committee`` (the committee's pages) and ``public``
(the notice, the honor roll, certificate verification); ``_common`` holds what both use.
"""

from web.pages_awards import committee, public  # noqa: F401  (they add their pages to bp)
from web.pages_awards._common import bp

__all__ = ["bp"]
