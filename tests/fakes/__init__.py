"""Loopback fakes of outside services, speaking their real wire protocols."""
