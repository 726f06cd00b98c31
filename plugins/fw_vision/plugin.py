"""Entry point of the vision plugin (group `fw.plugins`)."""
