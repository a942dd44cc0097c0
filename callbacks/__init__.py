"""Lightning callbacks (arrive with the DCM issue)."""
