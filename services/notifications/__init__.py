"""services/notifications: each person's inbox, fed by the topics; reminders; outside channels."""
