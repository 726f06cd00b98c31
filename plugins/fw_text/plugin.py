"""Entry point of the text plugin (group `fw.plugins`)."""
