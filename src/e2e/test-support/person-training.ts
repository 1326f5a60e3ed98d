/**
 * The person-driven training the person tests play (with and without shaperd): one 6 s session
 * at 1 Mbit/s, driven by the browser that opens /player?training=ID.
 */
export const PERSON_TRAINING_FORM: Readonly<Record<string, string>> = {
  name: "person",
  number_of_videos: "1",
  session_duration: "6",
  bw_limitations: "1",
  warmup: "2",
  driver: "person",
};
