"""Certificates: issuing and verifying them, their PDFs (purchase, event, institutional claim)
and the public addresses they are verified at.
"""
