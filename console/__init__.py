"""The operator console: the web edge where clinic staff compose, preview, approve and follow up pushes.

It imports posts/ only (never bot/ or scheduler/) and never calls WeChat: what staff ask for becomes rows in
posts/ that the scheduler sends.
"""
