"""``Site``: the region, account id and clock an event source lives in.

A source (queue, stream, table, bucket, topic) keeps the values it was given; the others it
takes from the first invoker that runs it, and until then it reads :data:`DEFAULT_SITE`
without keeping it, so the invoker that comes later still takes over.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._clock import Clock, SystemClock

__all__ = ["DEFAULT_SITE", "FollowsSite", "Site"]


@dataclass(frozen=True, slots=True)
class Site:
    """Where and on which clock sources run: what an invoker hands each source it runs."""

    region: str
    account_id: str
    clock: Clock


#: What a source reads before an invoker runs it: real time in the documentation's account.
DEFAULT_SITE = Site("us-east-1", "123456789012", SystemClock())


class FollowsSite:
    """A source that reads a :class:`Site`: its own values where it was given them, the rest
    from the first invoker that runs it (:meth:`follow`), else :data:`DEFAULT_SITE`.

    ``region``, ``account_id`` and ``clock`` are plain attributes, kept current by
    :meth:`follow`, so the paths that read them per message stay as fast as constants.
    """

    region: str
    account_id: str
    clock: Clock
    _given: tuple[str | None, str | None, Clock | None]
    _followed: bool

    def _settle(self, region: str | None, account_id: str | None, clock: Clock | None) -> None:
        """Keep the values given to the constructor; read the defaults for the rest."""
        self._given = (region, account_id, clock)
        self._followed = False
        self._take_site(DEFAULT_SITE)

    def _take_site(self, site: Site) -> None:
        region, account_id, clock = self._given
        self.region = site.region if region is None else region
        self.account_id = site.account_id if account_id is None else account_id
        self.clock = site.clock if clock is None else clock

    @property
    def site(self) -> Site:
        """The region, account id and clock the source reads now."""
        return Site(self.region, self.account_id, self.clock)

    def follow(self, site: Site) -> None:
        """Take the values not given to the constructor from ``site``: the first call only, so
        a source keeps the site of the first invoker that runs it."""
        if not self._followed:
            self._followed = True
            self._take_site(site)
