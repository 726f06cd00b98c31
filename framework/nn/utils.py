"""Gradient clipping and parameter/vector conversion (`torch.nn.utils`)."""
