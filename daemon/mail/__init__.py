"""Mail: what the daemon sends (invoices, voicemail notifications, replies) and receives."""
