"""LightningDataModules (arrive with the DCM issue)."""
