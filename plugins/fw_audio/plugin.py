"""Entry point of the audio plugin (group `fw.plugins`)."""
