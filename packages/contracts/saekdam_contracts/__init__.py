"""Wire schemas shared by Saekdam services. Pydantic only: no I/O, no settings."""
