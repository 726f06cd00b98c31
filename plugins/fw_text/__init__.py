"""fw's text plugin."""
