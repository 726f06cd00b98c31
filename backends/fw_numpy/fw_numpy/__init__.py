"""fw's CPU backend, built on NumPy. Registered as device type "cpu"."""
