"""Notifications: digest selection and model (digest.py, pure), rendering (render.py, Jinja2),
sending (send.py, the only smtplib import), delivery bookkeeping (deliver.py) and the Atom feed (feed.py).
"""
