"""Set-up data: locations, stock and delivery methods."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import SessionDep, require_roles
from api.keys import Role
from api.problems import Problem
from orders import setup
from orders.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["set-up"])
CODE = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class LocationIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["warehouse", "store"]
    ships: bool = True
    pickup: bool = False
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100


class InventoryIn(BaseModel):
    on_hand: Annotated[int, Field(ge=0, le=1_000_000_000)]
    safety_stock: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0


class DeliveryMethodIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["ship", "pickup"]


@router.put("/locations/{code}", dependencies=[Depends(require_roles())])
def put_location(code: CODE, body: LocationIn, session: SessionDep) -> dict[str, Any]:
    view = setup.put_location(session, code, **body.model_dump())
    session.commit()
    return view


@router.put("/inventory/{location_code}/{sku}", dependencies=[Depends(require_roles(Role.INTEGRATOR))])
def put_inventory(location_code: CODE, sku: CODE, body: InventoryIn, session: SessionDep) -> dict[str, Any]:
    try:
        view = setup.put_inventory(
            session, location_code, sku, on_hand=body.on_hand, safety_stock=body.safety_stock
        )
    except NotFound as exc:
        raise Problem(404, "Not found", str(exc)) from exc
    session.commit()
    return view


@router.get("/availability", dependencies=[Depends(require_roles(Role.MANAGER, Role.AGENT, Role.INTEGRATOR))])
def availability(
    session: SessionDep, sku: Annotated[str, Query(min_length=1, max_length=64)]
) -> dict[str, Any]:
    return setup.availability(session, sku)


@router.put("/delivery-methods/{code}", dependencies=[Depends(require_roles())])
def put_delivery_method(code: CODE, body: DeliveryMethodIn, session: SessionDep) -> dict[str, Any]:
    view = setup.put_delivery_method(session, code, name=body.name, kind=body.kind)
    session.commit()
    return view
