"""The XML calltrail answers Plivo with, built once with the ``plivo`` SDK's ``plivoxml``."""

from __future__ import annotations

from dataclasses import dataclass

from plivo import plivoxml

from service.settings import Settings

XML = "application/xml"


@dataclass(frozen=True, slots=True)
class Replies:
    """Every reply body, rendered at start: they depend on settings, never on the request."""

    answer: bytes  # answer_url and fallback_url: greeting, then Dial with action/callback
    dial_action: bytes  # the Dial has ended: end the call (valid XML, never plain text)
    ack: bytes  # ring, hangup, Dial callback: Plivo ignores the body

    @classmethod
    def from_settings(cls, settings: Settings) -> Replies:
        """Render the replies for ``settings``."""
        return cls(
            answer=_render(answer_element(settings)),
            dial_action=_render(plivoxml.ResponseElement()),
            ack=_render(plivoxml.ResponseElement()),
        )


def answer_element(settings: Settings) -> plivoxml.ResponseElement:
    """``<Response>``: optional Speak, then a Dial whose action and callback come back here."""
    response = plivoxml.ResponseElement()
    if settings.greeting:
        response.add(plivoxml.SpeakElement(settings.greeting))
    if not (settings.dial_numbers or settings.dial_sip_users):
        return response
    dial = plivoxml.DialElement(
        action=f"{settings.public_url}/plivo/dial/action",
        method="POST",
        callback_url=f"{settings.public_url}/plivo/dial/callback",
        callback_method="POST",
        caller_id=settings.caller_id or None,
        timeout=settings.dial_timeout,
        time_limit=settings.dial_time_limit,
        redirect=True,
    )
    for number in settings.dial_numbers:
        dial.add(plivoxml.NumberElement(number))
    for user in settings.dial_sip_users:
        dial.add(plivoxml.UserElement(user))
    return response.add(dial)


def _render(element: plivoxml.ResponseElement) -> bytes:
    text: str = element.to_string(pretty=False)
    return ('<?xml version="1.0" encoding="utf-8"?>' + text).encode("utf-8")
