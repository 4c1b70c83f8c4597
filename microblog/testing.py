"""The testers kit (grows in the next step)."""
