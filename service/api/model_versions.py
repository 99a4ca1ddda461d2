"""/api/v1/model-versions: the stored versions of the process model set."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..designer import versions
from .context import services
from .schemas import ModelVersionSchema

blp = Blueprint("model_versions", __name__, url_prefix="/api/v1/model-versions",
                description="Versions of the BPMN, DMN and form set")


@blp.route("")
class ModelVersions(MethodView):
    @blp.response(200, ModelVersionSchema(many=True))
    def get(self):
        """Every stored version, newest first (files listed without their content)"""
        return versions.all_versions(services())
