import type { Hono } from "hono";
import { getTraining } from "../collect/index.ts";
import type { Db } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { classifyLabelInfo, classifyTraining, parseClassifyRequest } from "../ml/index.ts";
import { type ClassifyJobView as ClassifyJob, classifyJobPage, classifyPage } from "../render/index.ts";
import { errorBody } from "./http-error.ts";
import { parseId, readFields } from "./request-input.ts";

/** The "Classify" view of a training: choose label and model, cross-validate with progress, download. */
export function registerClassifyRoutes(app: Hono, db: Db): void {
  const jobs = new Map<number, ClassifyJob>();
  let nextJob = 1;
  const job = (trainingId: number, jobId: number): ClassifyJob => {
    const found = jobs.get(jobId);
    if (!found || found.trainingId !== trainingId)
      throw new QoelabError("CLASSIFY_JOB_NOT_FOUND", `classification job ${jobId} does not exist`);
    return found;
  };

  app.get("/trainings/:id/classify", async (c) => {
    const trainingId = parseId(c.req.param("id"), "training", "TRAINING_NOT_FOUND");
    const labels = await classifyLabelInfo(db, trainingId);
    return c.html(classifyPage(trainingId, labels));
  });
  app.post("/trainings/:id/classify", async (c) => {
    const trainingId = parseId(c.req.param("id"), "training", "TRAINING_NOT_FOUND");
    await getTraining(db, trainingId);
    const request = parseClassifyRequest(await readFields(c, "classify"));
    const entry: ClassifyJob = {
      id: nextJob++,
      trainingId,
      state: "running",
      progress: { done: 0, total: 1, message: "starting" },
    };
    jobs.set(entry.id, entry);
    void classifyTraining(db, trainingId, request, (p) => {
      entry.progress = { done: p.done, total: p.total, message: p.message };
    }).then(
      (result) => {
        entry.result = result;
        entry.state = "done";
      },
      (error: unknown) => {
        entry.state = "failed";
        const { code, message } = errorBody(error);
        entry.error = { code, message };
      },
    );
    return c.redirect(`/trainings/${trainingId}/classify/jobs/${entry.id}`, 303);
  });
  app.get("/trainings/:id/classify/jobs/:job", (c) => {
    const entry = job(
      parseId(c.req.param("id"), "training", "TRAINING_NOT_FOUND"),
      parseId(c.req.param("job"), "classification job", "CLASSIFY_JOB_NOT_FOUND"),
    );
    return c.html(classifyJobPage(entry));
  });
  app.get("/api/classify/jobs/:job", (c) => {
    const entry = jobs.get(parseId(c.req.param("job"), "classification job", "CLASSIFY_JOB_NOT_FOUND"));
    if (!entry) throw new QoelabError("CLASSIFY_JOB_NOT_FOUND", "no such classification job");
    return c.json({
      state: entry.state,
      progress: entry.progress,
      error: entry.error ?? null,
      metrics: entry.result?.model.metrics ?? null,
    });
  });
  app.get("/trainings/:id/classify/jobs/:job/model.json", (c) => {
    const entry = job(
      parseId(c.req.param("id"), "training", "TRAINING_NOT_FOUND"),
      parseId(c.req.param("job"), "classification job", "CLASSIFY_JOB_NOT_FOUND"),
    );
    if (!entry.result)
      throw new QoelabError("CLASSIFY_NOT_DONE", "the classification has not finished", {}, { kind: "conflict" });
    return c.body(JSON.stringify(entry.result.model, null, 1), 200, {
      "content-type": "application/json",
      "content-disposition": `attachment; filename="qoelab-model-${entry.trainingId}.json"`,
    });
  });
}
