"""Sales: quoting and placing an order (one-yuan sink, credits, footprint offsets), its states,
the per-person caps, expiry and the jobs that keep orders in step with WeChat Pay.
"""
