"""Who may read which Datastreams, and what that means for the entities around them.

- public: everyone;
- internal: staff (clerk, operator, admin);
- personal (a household's meter): its owner, and operators whose role is scoped to the organisation that
  operates the Datastream (or unscoped operators); their reads are audited.

Observations follow their (Multi)Datastream. A Thing, its Locations and HistoricalLocations are hidden when
all of the Thing's streams are hidden (a meter's Thing would reveal the household's address); a
FeatureOfInterest is hidden when any of its observations is hidden from the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import FromClause

from stadtkern.sensorthings import models as m

Expr = ColumnElement[Any]
STAFF_ROLES = frozenset({"clerk", "operator", "admin"})


@dataclass(frozen=True)
class Viewer:
    user_id: int | None = None
    staff: bool = False
    # Organisations an operator may see personal streams of; None = all (unscoped operator).
    operator_scopes: frozenset[str] | None = frozenset()
    label: str = "anonymous"

    @classmethod
    def anonymous(cls) -> Viewer:
        return cls()

    @classmethod
    def of(cls, user: Any) -> Viewer:
        """From a core User (or None)."""
        if user is None:
            return cls()
        scopes = user.scopes("operator") if user.has_role("operator") else frozenset()
        return cls(
            user_id=user.id,
            staff=bool(user.role_names() & STAFF_ROLES),
            operator_scopes=frozenset(scopes) if scopes is not None else None,
            label=user.email or f"user-{user.id}",
        )

    @classmethod
    def system(cls) -> Viewer:
        """Stadtkern's own services (simulator, alerts): sees everything; not for people."""
        return cls(user_id=None, staff=True, operator_scopes=None, label="system")

    @property
    def sees_all_personal(self) -> bool:
        return self.operator_scopes is None


def stream_visible(table: FromClause, viewer: Viewer) -> Expr:
    """Condition on a Datastream or MultiDatastream table."""
    access = table.c.access
    allowed = [access == "public"]
    if viewer.staff:
        allowed.append(access == "internal")
    personal: list[Expr] = []
    if viewer.user_id is not None:
        personal.append(table.c.owner_user_id == viewer.user_id)
    if viewer.operator_scopes is None:
        personal.append(true())
    elif viewer.operator_scopes:
        personal.append(table.c.organisation.in_(sorted(viewer.operator_scopes)))
    if personal:
        allowed.append(and_(access == "personal", or_(*personal)))
    return or_(*allowed)


# Aliases are built once: making one copies every column (measured as the main cost of a simple read when
# built per request). Each is used at one place in a statement, so one name per place suffices.
_HIDDEN = (m.DATASTREAMS.alias("vis_hidden_ds"), m.MULTI_DATASTREAMS.alias("vis_hidden_mds"))
_SHOWN = (m.DATASTREAMS.alias("vis_shown_ds"), m.MULTI_DATASTREAMS.alias("vis_shown_mds"))
_OBSERVATION_STREAMS = (m.DATASTREAMS.alias("vis_obs_ds"), m.MULTI_DATASTREAMS.alias("vis_obs_mds"))
_LOCATION_LINKS = m.THING_LOCATIONS.alias("vis_location_links")
_FEATURE_OBSERVATIONS = m.OBSERVATIONS.alias("vis_feature_obs")


def _hidden_streams(viewer: Viewer, column: str, outer: Any) -> Expr:
    """EXISTS a (Multi)Datastream linked through ``column`` to ``outer`` that the viewer may not see."""
    return or_(
        *(
            exists(select(table.c.id).where(table.c[column] == outer, not_(stream_visible(table, viewer))))
            for table in _HIDDEN
        )
    )


def _visible_streams(viewer: Viewer, column: str, outer: Any) -> Expr:
    return or_(
        *(
            exists(select(table.c.id).where(table.c[column] == outer, stream_visible(table, viewer)))
            for table in _SHOWN
        )
    )


def thing_visible(thing_id: Any, viewer: Viewer) -> Expr:
    """A Thing with no streams, or with at least one visible stream."""
    if viewer.sees_all_personal and viewer.staff:
        return true()
    return or_(
        not_(_hidden_streams(viewer, "thing_id", thing_id)), _visible_streams(viewer, "thing_id", thing_id)
    )


def visible(entity_name: str, table: FromClause, viewer: Viewer) -> Expr | None:
    """The visibility condition for rows of ``table`` (None: every row is visible)."""
    if viewer.staff and viewer.sees_all_personal:
        return None
    if entity_name in ("Datastream", "MultiDatastream"):
        return stream_visible(table, viewer)
    if entity_name == "Observation":
        ds, mds = _OBSERVATION_STREAMS
        return or_(
            table.c.datastream_id.in_(select(ds.c.id).where(stream_visible(ds, viewer))),
            table.c.multi_datastream_id.in_(select(mds.c.id).where(stream_visible(mds, viewer))),
        )
    if entity_name == "Thing":
        return thing_visible(table.c.id, viewer)
    if entity_name == "HistoricalLocation":
        return thing_visible(table.c.thing_id, viewer)
    if entity_name == "Location":
        link = _LOCATION_LINKS
        return or_(
            not_(exists(select(link.c.thing_id).where(link.c.location_id == table.c.id))),
            exists(
                select(link.c.thing_id).where(
                    link.c.location_id == table.c.id, thing_visible(link.c.thing_id, viewer)
                )
            ),
        )
    if entity_name == "FeatureOfInterest":
        obs = _FEATURE_OBSERVATIONS
        hidden = visible("Observation", obs, viewer)
        assert hidden is not None
        return not_(exists(select(obs.c.id).where(obs.c.feature_of_interest_id == table.c.id, not_(hidden))))
    return None


async def audit_personal_reads(
    session: AsyncSession, reader: Any, reads: set[tuple[str, int]], *, now: datetime
) -> None:
    """Write "who read whose data" for personal streams a staff member read (not for the owner)."""
    from stadtkern.core.accounts.models import User
    from stadtkern.core.audit.services import record_personal_read

    plain = sorted({key for kind, key in reads if kind.startswith("Datastream")})
    multi = sorted({key for kind, key in reads if kind.startswith("MultiDatastream")})
    owners: set[tuple[int, str, int]] = set()
    for table, name, keys in (
        (m.DATASTREAMS, "Datastreams", plain),
        (m.MULTI_DATASTREAMS, "MultiDatastreams", multi),
    ):
        if not keys:
            continue
        rows = await session.execute(
            select(table.c.id, table.c.owner_user_id).where(
                table.c.id.in_(keys), table.c.access == "personal", table.c.owner_user_id.is_not(None)
            )
        )
        owners |= {(row.owner_user_id, name, row.id) for row in rows}
    for owner_id, name, stream_id in sorted(owners):
        if owner_id == reader.id:
            continue
        owner = await session.get(User, owner_id)
        if owner is not None:
            await record_personal_read(
                session, actor=reader, subject=owner, now=now, target=f"{name}({stream_id})"
            )
