"""System of record: settings, storage, content pack and its rendering, followers, the queue.

posts/ imports neither bot/ nor scheduler/; both edges import it.
"""
