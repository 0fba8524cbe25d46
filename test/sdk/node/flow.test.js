// Runs the official Node SDK (tencentcloud-sdk-nodejs 4.1.313) against a
// Thingo API endpoint. Environment:
//   THINGO_API_ENDPOINT  host:port of the API (plain HTTP), e.g. 127.0.0.1:8080
//   THINGO_SECRET_ID     API SecretId
//   THINGO_SECRET_KEY    API SecretKey
// Started by test/sdk/gocommon TestNodeSDK, or by hand: `npm test`.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { iotexplorer } = require("tencentcloud-sdk-nodejs/tencentcloud/services/iotexplorer");

const endpoint = process.env.THINGO_API_ENDPOINT;
const secretId = process.env.THINGO_SECRET_ID;
const secretKey = process.env.THINGO_SECRET_KEY;

function client(key) {
  return new iotexplorer.v20190423.Client({
    credential: { secretId, secretKey: key },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint, protocol: "http://" } },
  });
}

async function rejects(promise, code) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `got ${err.code}: ${err.message}`);
    assert.ok(err.requestId, "error without requestId");
    return true;
  });
}

test("iotexplorer lifecycle with the Node SDK", { skip: !endpoint && "THINGO_API_ENDPOINT not set" }, async () => {
  const c = client(secretKey);

  const { Project } = await c.CreateProject({ ProjectName: "node", ProjectDesc: "node sdk" });
  assert.ok(Project.ProjectId);
  assert.equal(typeof Project.CreateTime, "number");

  const product = async (name, enc) => {
    const r = await c.CreateStudioProduct({
      ProductName: name, CategoryId: 1, ProductType: 0, EncryptionType: enc,
      NetType: "wifi", DataProtocol: 1, ProductDesc: "", ProjectId: Project.ProjectId,
    });
    assert.equal(r.Product.ProductId.length, 10);
    return r.Product.ProductId;
  };
  const keyPID = await product("node-lamp", "2");
  const certPID = await product("node-cam", "1");

  const psk = "MDEyMzQ1Njc4OWFiY2RlZg==";
  const d1 = await c.CreateDevice({ ProductId: keyPID, DeviceName: "dev1", DefinedPsk: psk });
  assert.equal(d1.Data.DevicePsk, psk);
  const d2 = await c.CreateDevice({ ProductId: keyPID, DeviceName: "dev2" });
  assert.equal(Buffer.from(d2.Data.DevicePsk, "base64").length, 16);
  const cam = await c.CreateDevice({ ProductId: certPID, DeviceName: "cam1" });
  assert.match(cam.Data.DeviceCert, /BEGIN CERTIFICATE/);
  assert.match(cam.Data.DevicePrivateKey, /PRIVATE KEY/);

  const { Device } = await c.DescribeDevice({ ProductId: keyPID, DeviceName: "dev1" });
  assert.equal(Device.DevicePsk, psk);
  assert.equal(Device.Status, 3);
  assert.equal(Device.EnableState, 1);

  const list = await c.GetDeviceList({
    ProductId: "-1", ProjectId: Project.ProjectId, Limit: 10,
    Filters: [{ Name: "DeviceName", Values: ["dev"] }],
  });
  assert.equal(list.Total, 2);
  assert.ok(list.Devices.every((d) => d.DevicePsk === ""));

  await c.UpdateDevicesEnableState({ DevicesItems: [{ ProductId: keyPID, DeviceName: "dev2" }], Status: 0 });
  assert.equal((await c.DescribeDevice({ DeviceId: `${keyPID}/dev2` })).Device.EnableState, 0);

  await c.CreateTopicPolicy({ ProductId: keyPID, TopicName: "cmd", Privilege: 3 });
  const topics = await c.ListTopicPolicy({ ProductId: keyPID });
  assert.deepEqual(topics.Topics, [{ TopicName: "cmd", Privilege: 3 }]);
  await c.ModifyTopicPolicy({ ProductId: keyPID, TopicName: "cmd", NewTopicName: "cmd2", Privilege: 2 });
  assert.equal((await c.DescribeTopicPolicy({ ProductId: keyPID, TopicName: "cmd2" })).Privilege, 2);
  await c.DeleteTopicPolicy({ ProductId: keyPID, TopicName: "cmd2" });

  await rejects(c.PublishMessage({ ProductId: keyPID, DeviceName: "dev1", Topic: `${keyPID}/dev1/control`, Payload: "{}" }),
    "FailedOperation.DeviceOffline");
  await rejects(c.DescribeDevice({ ProductId: keyPID, DeviceName: "missing" }), "ResourceNotFound.DeviceNotExist");
  await rejects(c.CreateDevice({ ProductId: keyPID, DeviceName: "bad name" }), "InvalidParameterValue");
  await rejects(c.CreateDevice({ ProductId: keyPID }), "MissingParameter");
  await rejects(client("wrong-key").GetProjectList({}), "AuthFailure.SignatureFailure");

  const stats = await c.GetDeviceSumStatistics({ ProjectId: Project.ProjectId });
  assert.equal(typeof stats.ActivationCount, "number");

  await c.DeleteDevices({ DevicesItems: [{ ProductId: keyPID, DeviceName: "dev1" }, { ProductId: keyPID, DeviceName: "dev2" }] });
  await c.DeleteDevice({ ProductId: certPID, DeviceName: "cam1" });
  await c.DeleteStudioProduct({ ProductId: keyPID });
  await c.DeleteStudioProduct({ ProductId: certPID });
  await c.DeleteProject({ ProjectId: Project.ProjectId });
  await rejects(c.DescribeProject({ ProjectId: Project.ProjectId }), "ResourceNotFound.ProjectNotExist");
});
