"""Personal data: everything the service holds about one person, across the contexts that hold it:
exported whole for the person (PIPL right of access), or erased and pseudonymised when their account
deletion falls due.
"""
