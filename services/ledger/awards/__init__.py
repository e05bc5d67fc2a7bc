"""民族团结之星: award cycles, candidates with evidence, committee votes, public notice (公示)
with objections, publication of the honor roll (光荣榜), certificates and their verification.

One module of services/ledger, laid out like a service: ``models``, ``schemas``, ``operations``
(the rules), ``tally`` (counting votes, pure), ``api`` (thin HTTP handlers), ``documents``
(certificate PDF, Excel export).
"""
