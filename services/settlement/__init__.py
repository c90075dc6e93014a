"""Settlement: WeChat Pay's payment and refund notifications, fulfilment, refunds (online and
offline), bank transfers and the sandbox payer of the embedded demo.
"""
