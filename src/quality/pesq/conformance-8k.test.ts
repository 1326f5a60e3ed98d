import { describeAnnexATest2 } from "./test-support.ts";

describeAnnexATest2(8000);
