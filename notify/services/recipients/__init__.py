"""Recipients: contact details, devices, imports, preferences, suppressions, unsubscribe."""
