"""Personal reductions sold as credits: the admin's batches and their issuance, each user's statement."""
