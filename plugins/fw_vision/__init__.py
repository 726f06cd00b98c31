"""fw's vision plugin."""
