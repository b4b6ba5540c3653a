"""The web edge shared by the API and the posture service (one copy of each piece)."""
