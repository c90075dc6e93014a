"""Subscribe messages: the results of `wx.requestSubscribeMessage`, and the sends each template allows."""
