import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from decisions.backtest.runner import backtest_prepare
from decisions.registry import ArtifactRefused, artifact_dump
from decisions.services.registry import artifact_activate, artifact_upload
from decisions.services.training import NotEnoughData, hazard_train_from_db


class Command(BaseCommand):
    help = "Train the interruption-hazard model and report its metrics."

    def add_arguments(self, parser):
        parser.add_argument("--from-db", action="store_true",
                            help="train on this deployment's canonical tier")
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--prices", help="spot price history CSV")
        parser.add_argument("--ondemand", help="on-demand price list CSV")
        parser.add_argument("--bands", help="Spot Advisor band snapshots CSV")
        parser.add_argument("--traces")
        parser.add_argument("--specs")
        parser.add_argument("--train-until", help="YYYY-MM-DD (CSV mode)")
        parser.add_argument("--agents", type=int, default=200)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--model-version", default="1")
        parser.add_argument("--output", help="write the skops artefact here")
        parser.add_argument("--register", action="store_true")
        parser.add_argument("--activate", action="store_true")

    def handle(self, *args, **options):
        steps = tqdm(total=3, desc="train", file=self.stderr._out)
        model = self._train(options, steps)
        steps.update(1)
        data = artifact_dump(model)
        steps.close()
        self.stdout.write(self._report(model.metrics))
        if options["output"]:
            with open(options["output"], "wb") as handle:
                handle.write(data)
        if options["register"] or options["activate"]:
            try:
                artifact = artifact_upload(data=data, actor="train_model")
                if options["activate"]:
                    artifact_activate(artifact_id=artifact.pk, actor="train_model")
            except ArtifactRefused as error:
                raise CommandError(str(error))
        return f"trained {model.name} {model.version}"

    def _train(self, options, steps):
        def progress(note):
            steps.set_postfix_str(note)
            steps.update(1)

        if options["from_db"]:
            try:
                return hazard_train_from_db(
                    days=options["days"], version=options["model_version"],
                    progress=progress,
                )
            except NotEnoughData as error:
                raise CommandError(f"not enough data: {error}")
        required = ("prices", "ondemand", "bands", "train_until")
        missing = [name for name in required if not options[name]]
        if missing:
            raise CommandError(
                "give --from-db, or CSV paths: missing "
                + ", ".join(f"--{name.replace('_', '-')}" for name in missing)
            )
        state = backtest_prepare(
            prices_path=options["prices"], ondemand_path=options["ondemand"],
            bands_path=options["bands"], traces_path=options["traces"],
            specs_path=options["specs"], train_until=options["train_until"],
            agents=options["agents"], seed=options["seed"],
        )
        progress("model fitted")
        model = state["model"]
        model.version, model.metrics = options["model_version"], state["metrics"]
        progress("measured")
        return model

    def _report(self, metrics: dict) -> str:
        lines = [
            f"Brier score {metrics['brier']:.5f}",
            f"ROC AUC {metrics['roc_auc']}",
            f"positive rate {metrics['positive_rate']:.5f} of "
            f"{metrics['samples']:.0f} samples",
            "calibration by decile (predicted -> observed):",
        ]
        lines += [
            f"  {row['decile']:>2}: {row['predicted']:.5f} -> {row['observed']:.5f}"
            for row in metrics["calibration"]
        ]
        lines.append(json.dumps({k: v for k, v in metrics.items()
                                 if k != "calibration"}))
        return "\n".join(lines)
