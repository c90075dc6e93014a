"""Loopback fakes that speak WeChat's real protocols, so wechatpy and wechatpayv3 run for real in tests."""
