"""Characters: the AI personas people chat with, and the catalogue they are picked from."""
