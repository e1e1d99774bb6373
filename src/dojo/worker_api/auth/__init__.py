"""Logins (SIWE for labellers, hotkey challenge for miners), tokens, nonces and keys."""
