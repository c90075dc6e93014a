"""Notifications: WeChat subscribe messages (订阅消息). The sends each user allowed in the
mini-program, the scan that finds what happened (a certificate issued, a refund done, points about
to expire, an event neutralised, a bank-transfer order about to expire) and enqueues one message
per event and user, and the job that sends them through WeChat.
"""
