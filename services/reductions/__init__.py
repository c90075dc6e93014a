"""Personal reductions sold as credits: users' reviewed actions batched by month and methodology,
taken to the registry, entered in the pool once issued, and the proceeds of their sales shared back
to the contributors as points; the statement each user reads, and the audit of it all.
"""
