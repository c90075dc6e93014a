"""Account deletion (账号注销) and the export of one's personal data."""
