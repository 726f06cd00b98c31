"""Data sets, samplers and the DataLoader (`torch.utils.data`)."""
