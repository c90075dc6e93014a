"""The pool of issued credits: the catalogue (kinds, owners, projects), batches and their import,
reservations that hold grams for unpaid orders, the demo catalogue, and the pool's invariant checks.
"""
