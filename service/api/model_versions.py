"""/api/v1/model-versions: the stored versions of the process model set."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import ModelVersion
from .context import services
from .schemas import ModelVersionSchema

blp = Blueprint("model_versions", __name__, url_prefix="/api/v1/model-versions",
                description="Versions of the BPMN, DMN and form set")


@blp.route("")
class ModelVersions(MethodView):
    @blp.response(200, ModelVersionSchema(many=True))
    def get(self):
        """Every stored version, newest first (files listed without their content)"""
        with services().db.reader() as session:
            return session.scalars(
                select(ModelVersion).options(selectinload(ModelVersion.files)).order_by(ModelVersion.id.desc())
            ).all()
