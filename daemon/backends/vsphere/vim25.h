/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gSOAP interface header for the subset of the vSphere Web Services API
 * (vim25) that vmtraced uses.  It is the input of
 *
 *     soapcpp2 -c -C -L -x -w -pvim -d OUTDIR daemon/vim25.h
 *
 * and is never compiled by a C compiler itself.  The generated vimC.c,
 * vimClient.c, vimH.h, vimStub.h and vim.nsmap are build products.
 *
 * Schema facts (element names, order, optionality, inheritance) come from
 * govmomi's vim25/types/types.go, which is generated from the official WSDL.
 * C has no inheritance, so each struct repeats the members of its base types
 * in schema order.  Only the members vmtraced reads or sends are declared:
 * gSOAP skips unknown elements when decoding (we never set SOAP_XML_STRICT),
 * and every member left out is optional (minOccurs=0) when sending.
 *
 * Conventions (see docs/vsphere-gsoap-notes.md):
 *   - "_this" is spelled _USCOREthis and "Rename_Task" Rename_USCORETask.
 *   - A polymorphic field ("typeattr" in types.go, xsd:anyType) is declared
 *     "int __typeX; void *X;": gSOAP writes xsi:type when sending and
 *     dispatches on xsi:type when decoding (unknown types give __typeX == 0).
 *   - vSphere enums are plain strings (typedef char *) so that values added in
 *     newer API versions never break decoding.
 *   - LocalizedMethodFault.fault and the SOAP Fault detail are kept as raw
 *     XML (_XML); the fault type name is taken from xsi:type by the transport
 *     code, which works for every fault type without declaring each one.
 *
 * Adding an operation: declare its request element _vim25__Op (the
 * ...RequestType struct of types.go), its response element
 * _vim25__OpResponse { returnval }, and the service function __vim25__Op at
 * the end of this file.
 */

//gsoap vim25 service name:       vim
//gsoap vim25 service style:      document
//gsoap vim25 service encoding:   literal
//gsoap vim25 service namespace:  urn:vim25
//gsoap vim25 schema namespace:   urn:vim25
//gsoap vim25 schema elementForm: qualified
//gsoap vim25 schema attributeForm: unqualified

/* XML Schema built-ins, so xsi:type="xsd:string" etc. decode in anyType values. */
typedef char *xsd__string;
typedef int xsd__int;
typedef LONG64 xsd__long;
typedef short xsd__short;
typedef char *xsd__anyURI;
typedef time_t xsd__dateTime;
enum xsd__boolean { xsd__boolean__false_, xsd__boolean__true_ };

/* Enumerations, as strings. */
typedef char *vim25__TaskInfoState;        /* queued running success error */
typedef char *vim25__ObjectUpdateKind;     /* modify enter leave */
typedef char *vim25__PropertyChangeOp;     /* add remove assign indirectRemove */
typedef char *vim25__VirtualMachinePowerState;

/* A reference to a managed object: <x type="VirtualMachine">vm-42</x> */
struct vim25__ManagedObjectReference {
        char *__item;
        @char *type 1;
};

struct vim25__ArrayOfManagedObjectReference {
        int __sizeManagedObjectReference 0;
        struct vim25__ManagedObjectReference *ManagedObjectReference 0;
};

struct vim25__ArrayOfString {
        int __sizestring 0;
        char **string 0;
};

/* ---- ServiceInstance / SessionManager ---------------------------------- */

struct vim25__AboutInfo {
        char *name 1;
        char *fullName 1;
        char *vendor 1;
        char *version 1;
        char *build 1;
        char *localeVersion 0;
        char *localeBuild 0;
        char *osType 1;
        char *productLineId 1;
        char *apiType 1;
        char *apiVersion 1;
        char *instanceUuid 0;
};

struct vim25__ServiceContent {
        struct vim25__ManagedObjectReference rootFolder 1;
        struct vim25__ManagedObjectReference propertyCollector 1;
        struct vim25__ManagedObjectReference *viewManager 0;
        struct vim25__AboutInfo about 1;
        struct vim25__ManagedObjectReference *setting 0;
        struct vim25__ManagedObjectReference *userDirectory 0;
        struct vim25__ManagedObjectReference *sessionManager 0;
        struct vim25__ManagedObjectReference *authorizationManager 0;
        struct vim25__ManagedObjectReference *serviceManager 0;
        struct vim25__ManagedObjectReference *perfManager 0;
        struct vim25__ManagedObjectReference *scheduledTaskManager 0;
        struct vim25__ManagedObjectReference *alarmManager 0;
        struct vim25__ManagedObjectReference *eventManager 0;
        struct vim25__ManagedObjectReference *taskManager 0;
        struct vim25__ManagedObjectReference *extensionManager 0;
        struct vim25__ManagedObjectReference *customizationSpecManager 0;
        struct vim25__ManagedObjectReference *guestCustomizationManager 0;
        struct vim25__ManagedObjectReference *customFieldsManager 0;
        struct vim25__ManagedObjectReference *accountManager 0;
        struct vim25__ManagedObjectReference *diagnosticManager 0;
        struct vim25__ManagedObjectReference *licenseManager 0;
        struct vim25__ManagedObjectReference *searchIndex 0;
};

struct vim25__UserSession {
        char *key 1;
        char *userName 1;
        char *fullName 1;
        time_t loginTime 1;
        time_t lastActiveTime 1;
        char *locale 1;
        char *messageLocale 1;
        enum xsd__boolean *extensionSession 0;
        char *ipAddress 0;
        char *userAgent 0;
        LONG64 *callCount 0;
};

/* ---- Faults ------------------------------------------------------------- */

/*
 * vSphere's MethodFault hierarchy is several hundred types.  A LocalizedMethodFault's
 * fault element is kept as raw XML, whose xsi:type names the fault.
 */
struct vim25__LocalizedMethodFault {
        _XML __any;                    /* the <fault xsi:type="..."> element */
        char *localizedMessage 0;
};

/*
 * Our own SOAP Fault detail (gSOAP's default one expects an element named
 * "fault" and drops everything else).  vSphere sends one element,
 * <XxxFault xmlns="urn:vim25" xsi:type="Xxx">; it is kept as raw XML.
 */
struct SOAP_ENV__Detail {
        _XML __any;
};

/* SOAP Header: vSphere's operationID correlates our trail id with vCenter's logs. */
struct SOAP_ENV__Header {
        char *operationID 0;
};

/* ---- PropertyCollector -------------------------------------------------- */

/* Member of ObjectSpec.selectSet / TraversalSpec.selectSet: a SelectionSpec or a TraversalSpec. */
struct __vim25__SelectionSpecItem {
        int __typeselectSet;
        void *selectSet;
};

struct vim25__SelectionSpec {
        char *name 0;
};

struct vim25__TraversalSpec {
        char *name 0;                       /* SelectionSpec */
        char *type 1;
        char *path 1;
        enum xsd__boolean *skip 0;
        int __sizeselectSet 0;
        struct __vim25__SelectionSpecItem *__selectSet 0;
};

struct vim25__PropertySpec {
        char *type 1;
        enum xsd__boolean *all 0;
        int __sizepathSet 0;
        char **pathSet 0;
};

struct vim25__ObjectSpec {
        struct vim25__ManagedObjectReference obj 1;
        enum xsd__boolean *skip 0;
        int __sizeselectSet 0;
        struct __vim25__SelectionSpecItem *__selectSet 0;
};

struct vim25__PropertyFilterSpec {
        int __sizepropSet 1;
        struct vim25__PropertySpec *propSet 1;
        int __sizeobjectSet 1;
        struct vim25__ObjectSpec *objectSet 1;
        enum xsd__boolean *reportMissingObjectsInResults 0;
};

struct vim25__RetrieveOptions {
        int *maxObjects 0;
};

struct vim25__DynamicProperty {
        char *name 1;
        int __typeval;
        void *val;
};

struct vim25__MissingProperty {
        char *path 1;
        struct vim25__LocalizedMethodFault fault 1;
};

struct vim25__ObjectContent {
        struct vim25__ManagedObjectReference obj 1;
        int __sizepropSet 0;
        struct vim25__DynamicProperty *propSet 0;
        int __sizemissingSet 0;
        struct vim25__MissingProperty *missingSet 0;
};

struct vim25__RetrieveResult {
        char *token 0;
        int __sizeobjects 0;
        struct vim25__ObjectContent *objects 0;
};

struct vim25__WaitOptions {
        int *maxWaitSeconds 0;
        int *maxObjectUpdates 0;
};

struct vim25__PropertyChange {
        char *name 1;
        vim25__PropertyChangeOp op 1;
        int __typeval;
        void *val;
};

struct vim25__ObjectUpdate {
        vim25__ObjectUpdateKind kind 1;
        struct vim25__ManagedObjectReference obj 1;
        int __sizechangeSet 0;
        struct vim25__PropertyChange *changeSet 0;
        int __sizemissingSet 0;
        struct vim25__MissingProperty *missingSet 0;
};

struct vim25__PropertyFilterUpdate {
        struct vim25__ManagedObjectReference filter 1;
        int __sizeobjectSet 0;
        struct vim25__ObjectUpdate *objectSet 0;
};

struct vim25__UpdateSet {
        char *version 1;
        int __sizefilterSet 0;
        struct vim25__PropertyFilterUpdate *filterSet 0;
        enum xsd__boolean *truncated 0;
};

/* ---- Tasks -------------------------------------------------------------- */

struct vim25__TaskInfo {
        char *key 1;
        struct vim25__ManagedObjectReference task 1;
        char *name 0;
        char *descriptionId 1;
        struct vim25__ManagedObjectReference *entity 0;
        char *entityName 0;
        vim25__TaskInfoState state 1;
        enum xsd__boolean cancelled 1;
        enum xsd__boolean cancelable 1;
        struct vim25__LocalizedMethodFault *error 0;
        int __typeresult;
        void *result;
        int *progress 0;
        time_t queueTime 1;
        time_t *startTime 0;
        time_t *completeTime 0;
        int eventChainId 1;
};


/* ---- Virtual machine configuration -------------------------------------- */

struct vim25__Description {
        char *label 1;
        char *summary 1;
};

/*
 * A disk edit sends the device back as vCenter returned it (an omitted
 * member is not "unchanged" for every member: the backing's parent, sharing,
 * content and change ids would be lost), so a disk and its flat backing
 * declare every member of types.go (vSphere 7.0), in schema order.
 */
struct vim25__SharesInfo {
        int shares 1;
        char *level 1;             /* low normal high custom */
};

struct vim25__StorageIOAllocationInfo {
        LONG64 *limit 0;
        struct vim25__SharesInfo *shares 0;
        int *reservation 0;
};

struct vim25__VirtualDeviceConnectInfo {
        char *migrateConnect 0;
        enum xsd__boolean startConnected 1;
        enum xsd__boolean allowGuestControl 1;
        enum xsd__boolean connected 1;
        char *status 0;
};

/* The one VirtualDeviceBusSlotInfo a disk may carry. */
struct vim25__VirtualDevicePciBusSlotInfo {
        int pciSlotNumber 1;
};

struct vim25__VirtualDiskVFlashCacheConfigInfo {
        char *vFlashModule 0;
        LONG64 *reservationInMB 0;
        char *cacheConsistencyType 0;
        char *cacheMode 0;
        LONG64 *blockSizeInKB 0;
};

struct vim25__ID {
        char *id 1;
};

struct vim25__KeyProviderId {
        char *id 1;
};

struct vim25__CryptoKeyId {
        char *keyId 1;
        struct vim25__KeyProviderId *providerId 0;
};

/* VirtualDeviceFileBackingInfo + VirtualDiskFlatVer2BackingInfo. */
struct vim25__VirtualDiskFlatVer2BackingInfo {
        char *fileName 1;
        struct vim25__ManagedObjectReference *datastore 0;
        char *backingObjectId 0;
        char *diskMode 1;
        enum xsd__boolean *split 0;
        enum xsd__boolean *writeThrough 0;
        enum xsd__boolean *thinProvisioned 0;
        enum xsd__boolean *eagerlyScrub 0;
        char *uuid 0;
        char *contentId 0;
        char *changeId 0;
        struct vim25__VirtualDiskFlatVer2BackingInfo *parent 0;  /* set once the VM has snapshots */
        char *deltaDiskFormat 0;
        enum xsd__boolean *digestEnabled 0;
        int *deltaGrainSize 0;
        char *deltaDiskFormatVariant 0;
        char *sharing 0;
        struct vim25__CryptoKeyId *keyId 0;
};

/* VirtualDevice + VirtualDisk.  Other device types are skipped when decoding, but for those below. */
struct vim25__VirtualDisk {
        int key 1;
        struct vim25__Description *deviceInfo 0;
        int __typebacking;
        void *backing;
        struct vim25__VirtualDeviceConnectInfo *connectable 0;
        int __typeslotInfo;
        void *slotInfo;
        int *controllerKey 0;
        int *unitNumber 0;
        LONG64 capacityInKB 1;
        LONG64 *capacityInBytes 0;
        struct vim25__SharesInfo *shares 0;
        struct vim25__StorageIOAllocationInfo *storageIOAllocation 0;
        char *diskObjectId 0;
        struct vim25__VirtualDiskVFlashCacheConfigInfo *vFlashCacheConfigInfo 0;
        int __sizeiofilter 0;
        char **iofilter 0;
        struct vim25__ID *vDiskId 0;
        enum xsd__boolean *nativeUnmanagedLinkedClone 0;
};

/*
 * Devices that take a unit on a disk controller, only to know which units
 * are taken (decoded, never sent): VirtualDevice's key, controllerKey and
 * unitNumber.
 */
struct vim25__VirtualCdrom {
        int key 1;
        struct vim25__Description *deviceInfo 0;
        int *controllerKey 0;
        int *unitNumber 0;
};

struct vim25__VirtualSCSIPassthrough {
        int key 1;
        int *controllerKey 0;
        int *unitNumber 0;
};

/*
 * Disk controllers (decoded, never sent): VirtualDevice's key,
 * VirtualController's busNumber and device (the keys of the devices on
 * it), and a SCSI controller's own unit.  Their type says how many units
 * they have (vsphere_values.c).
 */
struct vim25__VirtualIDEController {
        int key 1;
        int busNumber 1;
        int __sizedevice 0;
        int *device 0;
};

struct vim25__VirtualSATAController {
        int key 1;
        int busNumber 1;
        int __sizedevice 0;
        int *device 0;
};

struct vim25__VirtualAHCIController {
        int key 1;
        int busNumber 1;
        int __sizedevice 0;
        int *device 0;
};

struct vim25__VirtualNVMEController {
        int key 1;
        int busNumber 1;
        int __sizedevice 0;
        int *device 0;
};

struct vim25__ParaVirtualSCSIController {
        int key 1;
        int busNumber 1;
        int __sizedevice 0;
        int *device 0;
        int *scsiCtlrUnitNumber 0;
};

struct vim25__VirtualLsiLogicController {
        int key 1;
        int busNumber 1;
        int __sizedevice 0;
        int *device 0;
        int *scsiCtlrUnitNumber 0;
};

struct vim25__VirtualLsiLogicSASController {
        int key 1;
        int busNumber 1;
        int __sizedevice 0;
        int *device 0;
        int *scsiCtlrUnitNumber 0;
};

struct vim25__VirtualBusLogicController {
        int key 1;
        int busNumber 1;
        int __sizedevice 0;
        int *device 0;
        int *scsiCtlrUnitNumber 0;
};

/* Member of ArrayOfVirtualDevice: any device, by xsi:type. */
struct __vim25__VirtualDeviceItem {
        int __typeVirtualDevice;
        void *VirtualDevice;
};

struct vim25__ArrayOfVirtualDevice {
        int __sizeVirtualDevice 0;
        struct __vim25__VirtualDeviceItem *__VirtualDevice 0;
};

/* device is required (minOccurs=1): vs_device_change() refuses to build a spec without one. */
struct vim25__VirtualDeviceConfigSpec {
        char *operation 0;         /* add remove edit */
        char *fileOperation 0;     /* create destroy replace */
        int __typedevice 1;
        void *device 1;
};

struct vim25__VirtualMachineConfigSpec {
        char *name 0;              /* read in VmReconfiguredEvent; never sent (Rename_Task renames) */
        int *numCPUs 0;
        LONG64 *memoryMB 0;
        int __sizedeviceChange 0;
        struct vim25__VirtualDeviceConfigSpec *deviceChange 0;
};

/* No "service": it is a ServiceLocator (cross-vCenter moves), not a reference, and we never send it. */
struct vim25__VirtualMachineRelocateSpec {
        struct vim25__ManagedObjectReference *folder 0;
        struct vim25__ManagedObjectReference *datastore 0;
        char *diskMoveType 0;
        struct vim25__ManagedObjectReference *pool 0;
        struct vim25__ManagedObjectReference *host 0;
};

struct vim25__VirtualMachineCloneSpec {
        struct vim25__VirtualMachineRelocateSpec location 1;
        enum xsd__boolean template_ 1;
        enum xsd__boolean powerOn 1;
};

struct vim25__VirtualMachineSnapshotTree {
        struct vim25__ManagedObjectReference snapshot 1;
        struct vim25__ManagedObjectReference vm 1;
        char *name 1;
        char *description 1;
        int *id 0;
        time_t createTime 1;
        vim25__VirtualMachinePowerState state 1;
        enum xsd__boolean quiesced 1;
        char *backupManifest 0;
        int __sizechildSnapshotList 0;
        struct vim25__VirtualMachineSnapshotTree *childSnapshotList 0;
};

struct vim25__ArrayOfVirtualMachineSnapshotTree {
        int __sizeVirtualMachineSnapshotTree 0;
        struct vim25__VirtualMachineSnapshotTree *VirtualMachineSnapshotTree 0;
};

struct vim25__VirtualMachineSnapshotInfo {
        struct vim25__ManagedObjectReference *currentSnapshot 0;
        int __sizerootSnapshotList 0;
        struct vim25__VirtualMachineSnapshotTree *rootSnapshotList 0;
};

/* ---- Events ------------------------------------------------------------- */

struct vim25__ManagedEntityEventArgument {
        char *name 1;
        struct vim25__ManagedObjectReference entity 1;
};

struct vim25__VmEventArgument {
        char *name 1;
        struct vim25__ManagedObjectReference vm 1;
};

/* Event + GeneralEvent + GeneralUserEvent; sent with xsi:type. */
struct vim25__GeneralUserEvent {
        int key 1;
        int chainId 1;
        time_t createdTime 1;
        char *userName 1;
        struct vim25__VmEventArgument *vm 0;
        char *fullFormattedMessage 0;
        char *message 1;
        struct vim25__ManagedEntityEventArgument *entity 0;
};

/*
 * Reading vCenter's event history (QueryEvents), to say who made a change
 * the inventory mirror saw.  Decoding only, so one struct serves every VM
 * event type vmtraced asks for: the members of Event it reads, then the
 * members of the two types that carry more (gSOAP matches members by name
 * and skips the rest).  Each typedef is a type name of its own for xsi:type.
 */
struct vim25__ChangesInfoEventArgument {
        char *modified 0;
        char *added 0;
        char *deleted 0;
};

struct vim25__VmEvent {
        int key 0;
        int chainId 0;
        time_t createdTime 0;
        char *userName 0;
        struct vim25__VmEventArgument *vm 0;
        char *fullFormattedMessage 0;
        char *oldName 0;                                           /* VmRenamedEvent */
        char *newName 0;
        struct vim25__VirtualMachineConfigSpec *configSpec 0;      /* VmReconfiguredEvent */
        struct vim25__ChangesInfoEventArgument *configChanges 0;   /* vSphere 6.5 and later */
};
typedef struct vim25__VmEvent vim25__VmReconfiguredEvent;
typedef struct vim25__VmEvent vim25__VmRenamedEvent;
typedef struct vim25__VmEvent vim25__VmPoweredOnEvent;
typedef struct vim25__VmEvent vim25__VmPoweredOffEvent;
typedef struct vim25__VmEvent vim25__VmSuspendedEvent;
typedef struct vim25__VmEvent vim25__VmRemovedEvent;
typedef struct vim25__VmEvent vim25__VmCreatedEvent;
typedef struct vim25__VmEvent vim25__VmClonedEvent;
typedef struct vim25__VmEvent vim25__VmDeployedEvent;
typedef struct vim25__VmEvent vim25__VmRegisteredEvent;
typedef struct vim25__VmEvent vim25__VmDiscoveredEvent;

struct vim25__EventFilterSpecByEntity {
        struct vim25__ManagedObjectReference entity 1;
        char *recursion 1;         /* all children self */
};

struct vim25__EventFilterSpecByTime {
        time_t *beginTime 0;
        time_t *endTime 0;
};

struct vim25__EventFilterSpec {
        struct vim25__EventFilterSpecByEntity *entity 0;
        struct vim25__EventFilterSpecByTime *time 0;
        int __sizeeventTypeId 0;
        char **eventTypeId 0;
        int *maxCount 0;
};

/* ---- Request and response elements ------------------------------------ */

struct _vim25__RetrieveServiceContent {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__RetrieveServiceContentResponse {
        struct vim25__ServiceContent *returnval 1;
};

struct _vim25__Login {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        char *userName 1;
        char *password 1;
        char *locale 0;
};
struct _vim25__LoginResponse {
        struct vim25__UserSession *returnval 1;
};

struct _vim25__Logout {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__LogoutResponse {
};

struct _vim25__SessionIsActive {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        char *sessionID 1;
        char *userName 1;
};
struct _vim25__SessionIsActiveResponse {
        enum xsd__boolean returnval 1;
};

struct _vim25__CreateContainerView {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        struct vim25__ManagedObjectReference *container 1;
        int __sizetype 0;
        char **type 0;
        enum xsd__boolean recursive 1;
};
struct _vim25__CreateContainerViewResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__DestroyView {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__DestroyViewResponse {
};

struct _vim25__RetrievePropertiesEx {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        int __sizespecSet 1;
        struct vim25__PropertyFilterSpec *specSet 1;
        struct vim25__RetrieveOptions *options 1;
};
struct _vim25__RetrievePropertiesExResponse {
        struct vim25__RetrieveResult *returnval 0;
};

struct _vim25__ContinueRetrievePropertiesEx {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        char *token 1;
};
struct _vim25__ContinueRetrievePropertiesExResponse {
        struct vim25__RetrieveResult *returnval 1;
};

/* Frees a paged result vCenter still holds, when we stop reading it before the last page. */
struct _vim25__CancelRetrievePropertiesEx {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        char *token 1;
};
struct _vim25__CancelRetrievePropertiesExResponse {
};

struct _vim25__CreateFilter {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        struct vim25__PropertyFilterSpec *spec 1;
        enum xsd__boolean partialUpdates 1;
};
struct _vim25__CreateFilterResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__DestroyPropertyFilter {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__DestroyPropertyFilterResponse {
};

struct _vim25__WaitForUpdatesEx {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        char *version 0;
        struct vim25__WaitOptions *options 0;
};
struct _vim25__WaitForUpdatesExResponse {
        struct vim25__UpdateSet *returnval 0;
};

struct _vim25__CancelWaitForUpdates {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__CancelWaitForUpdatesResponse {
};

struct _vim25__Rename_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        char *newName 1;
};
struct _vim25__Rename_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__PowerOnVM_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        struct vim25__ManagedObjectReference *host 0;
};
struct _vim25__PowerOnVM_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__PowerOffVM_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__PowerOffVM_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__CancelTask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__CancelTaskResponse {
};


struct _vim25__ReconfigVM_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        struct vim25__VirtualMachineConfigSpec *spec 1;
};
struct _vim25__ReconfigVM_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__ResetVM_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__ResetVM_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__SuspendVM_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__SuspendVM_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__ShutdownGuest {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__ShutdownGuestResponse {
};

struct _vim25__CloneVM_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        struct vim25__ManagedObjectReference *folder 1;
        char *name 1;
        struct vim25__VirtualMachineCloneSpec *spec 1;
};
struct _vim25__CloneVM_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__RelocateVM_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        struct vim25__VirtualMachineRelocateSpec *spec 1;
};
struct _vim25__RelocateVM_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__CreateSnapshot_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        char *name 1;
        char *description 0;
        enum xsd__boolean memory 1;
        enum xsd__boolean quiesce 1;
};
struct _vim25__CreateSnapshot_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__RevertToSnapshot_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__RevertToSnapshot_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__RemoveSnapshot_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        enum xsd__boolean removeChildren 1;
};
struct _vim25__RemoveSnapshot_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

struct _vim25__Destroy_USCORETask {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__Destroy_USCORETaskResponse {
        struct vim25__ManagedObjectReference *returnval 1;
};

/* eventToPost is required (minOccurs=1), and polymorphic (xsi:type). */
struct _vim25__PostEvent {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        int __typeeventToPost 1;
        void *eventToPost 1;
};
struct _vim25__PostEventResponse {
};

struct _vim25__QueryEvents {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
        struct vim25__EventFilterSpec filter 1;
};
/* Newest first; each by xsi:type (0: a type not declared above). */
struct __vim25__EventItem {
        int __typereturnval;
        void *returnval;
};
struct _vim25__QueryEventsResponse {
        int __sizereturnval 0;
        struct __vim25__EventItem *__returnval 0;
};

struct _vim25__CurrentTime {
        struct vim25__ManagedObjectReference *_USCOREthis 1;
};
struct _vim25__CurrentTimeResponse {
        time_t returnval 1;
};

/* ---- Service operations ------------------------------------------------ */

int __vim25__RetrieveServiceContent(struct _vim25__RetrieveServiceContent *vim25__RetrieveServiceContent,
                                    struct _vim25__RetrieveServiceContentResponse *vim25__RetrieveServiceContentResponse);
int __vim25__Login(struct _vim25__Login *vim25__Login, struct _vim25__LoginResponse *vim25__LoginResponse);
int __vim25__Logout(struct _vim25__Logout *vim25__Logout, struct _vim25__LogoutResponse *vim25__LogoutResponse);
int __vim25__SessionIsActive(struct _vim25__SessionIsActive *vim25__SessionIsActive,
                             struct _vim25__SessionIsActiveResponse *vim25__SessionIsActiveResponse);
int __vim25__CreateContainerView(struct _vim25__CreateContainerView *vim25__CreateContainerView,
                                 struct _vim25__CreateContainerViewResponse *vim25__CreateContainerViewResponse);
int __vim25__DestroyView(struct _vim25__DestroyView *vim25__DestroyView,
                         struct _vim25__DestroyViewResponse *vim25__DestroyViewResponse);
int __vim25__RetrievePropertiesEx(struct _vim25__RetrievePropertiesEx *vim25__RetrievePropertiesEx,
                                  struct _vim25__RetrievePropertiesExResponse *vim25__RetrievePropertiesExResponse);
int __vim25__ContinueRetrievePropertiesEx(struct _vim25__ContinueRetrievePropertiesEx *vim25__ContinueRetrievePropertiesEx,
                                          struct _vim25__ContinueRetrievePropertiesExResponse *vim25__ContinueRetrievePropertiesExResponse);
int __vim25__CancelRetrievePropertiesEx(struct _vim25__CancelRetrievePropertiesEx *vim25__CancelRetrievePropertiesEx,
                                        struct _vim25__CancelRetrievePropertiesExResponse *vim25__CancelRetrievePropertiesExResponse);
int __vim25__CreateFilter(struct _vim25__CreateFilter *vim25__CreateFilter,
                          struct _vim25__CreateFilterResponse *vim25__CreateFilterResponse);
int __vim25__DestroyPropertyFilter(struct _vim25__DestroyPropertyFilter *vim25__DestroyPropertyFilter,
                                   struct _vim25__DestroyPropertyFilterResponse *vim25__DestroyPropertyFilterResponse);
int __vim25__WaitForUpdatesEx(struct _vim25__WaitForUpdatesEx *vim25__WaitForUpdatesEx,
                              struct _vim25__WaitForUpdatesExResponse *vim25__WaitForUpdatesExResponse);
int __vim25__CancelWaitForUpdates(struct _vim25__CancelWaitForUpdates *vim25__CancelWaitForUpdates,
                                  struct _vim25__CancelWaitForUpdatesResponse *vim25__CancelWaitForUpdatesResponse);
int __vim25__Rename_USCORETask(struct _vim25__Rename_USCORETask *vim25__Rename_USCORETask,
                               struct _vim25__Rename_USCORETaskResponse *vim25__Rename_USCORETaskResponse);
int __vim25__PowerOnVM_USCORETask(struct _vim25__PowerOnVM_USCORETask *vim25__PowerOnVM_USCORETask,
                                  struct _vim25__PowerOnVM_USCORETaskResponse *vim25__PowerOnVM_USCORETaskResponse);
int __vim25__PowerOffVM_USCORETask(struct _vim25__PowerOffVM_USCORETask *vim25__PowerOffVM_USCORETask,
                                   struct _vim25__PowerOffVM_USCORETaskResponse *vim25__PowerOffVM_USCORETaskResponse);
int __vim25__CancelTask(struct _vim25__CancelTask *vim25__CancelTask,
                        struct _vim25__CancelTaskResponse *vim25__CancelTaskResponse);
int __vim25__ReconfigVM_USCORETask(struct _vim25__ReconfigVM_USCORETask *vim25__ReconfigVM_USCORETask,
        struct _vim25__ReconfigVM_USCORETaskResponse *vim25__ReconfigVM_USCORETaskResponse);
int __vim25__ResetVM_USCORETask(struct _vim25__ResetVM_USCORETask *vim25__ResetVM_USCORETask,
        struct _vim25__ResetVM_USCORETaskResponse *vim25__ResetVM_USCORETaskResponse);
int __vim25__SuspendVM_USCORETask(struct _vim25__SuspendVM_USCORETask *vim25__SuspendVM_USCORETask,
        struct _vim25__SuspendVM_USCORETaskResponse *vim25__SuspendVM_USCORETaskResponse);
int __vim25__ShutdownGuest(struct _vim25__ShutdownGuest *vim25__ShutdownGuest,
        struct _vim25__ShutdownGuestResponse *vim25__ShutdownGuestResponse);
int __vim25__CloneVM_USCORETask(struct _vim25__CloneVM_USCORETask *vim25__CloneVM_USCORETask,
        struct _vim25__CloneVM_USCORETaskResponse *vim25__CloneVM_USCORETaskResponse);
int __vim25__RelocateVM_USCORETask(struct _vim25__RelocateVM_USCORETask *vim25__RelocateVM_USCORETask,
        struct _vim25__RelocateVM_USCORETaskResponse *vim25__RelocateVM_USCORETaskResponse);
int __vim25__CreateSnapshot_USCORETask(struct _vim25__CreateSnapshot_USCORETask *vim25__CreateSnapshot_USCORETask,
        struct _vim25__CreateSnapshot_USCORETaskResponse *vim25__CreateSnapshot_USCORETaskResponse);
int __vim25__RevertToSnapshot_USCORETask(struct _vim25__RevertToSnapshot_USCORETask *vim25__RevertToSnapshot_USCORETask,
        struct _vim25__RevertToSnapshot_USCORETaskResponse *vim25__RevertToSnapshot_USCORETaskResponse);
int __vim25__RemoveSnapshot_USCORETask(struct _vim25__RemoveSnapshot_USCORETask *vim25__RemoveSnapshot_USCORETask,
        struct _vim25__RemoveSnapshot_USCORETaskResponse *vim25__RemoveSnapshot_USCORETaskResponse);
int __vim25__Destroy_USCORETask(struct _vim25__Destroy_USCORETask *vim25__Destroy_USCORETask,
        struct _vim25__Destroy_USCORETaskResponse *vim25__Destroy_USCORETaskResponse);
int __vim25__PostEvent(struct _vim25__PostEvent *vim25__PostEvent,
        struct _vim25__PostEventResponse *vim25__PostEventResponse);
int __vim25__CurrentTime(struct _vim25__CurrentTime *vim25__CurrentTime,
        struct _vim25__CurrentTimeResponse *vim25__CurrentTimeResponse);
int __vim25__QueryEvents(struct _vim25__QueryEvents *vim25__QueryEvents,
        struct _vim25__QueryEventsResponse *vim25__QueryEventsResponse);
