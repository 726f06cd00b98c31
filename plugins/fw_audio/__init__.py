"""fw's audio plugin."""
