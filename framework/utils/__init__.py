"""Utilities (`torch.utils`)."""
