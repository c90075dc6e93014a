"""Reporting: the admin dashboard, sales reports and exports (with neutralised cells), the public
transparency figures, metrics queries, health checks and the benchmark reference endpoint; and the
rollups they read (`sales_rollups`, `rollup_reads`, `rollup_compaction`, `rollup_rebuild`,
`rollup_audit`), which keep their cost flat however long the order history grows.
"""
