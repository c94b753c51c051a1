"""The IVR's pure rules: the flow model, its publish checks, business hours, the forwarding tariff."""
