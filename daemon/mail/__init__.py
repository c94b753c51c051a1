"""Mail the daemon sends: invoices, voicemail notifications, replies (received mail: daemon.guidance_mail)."""
