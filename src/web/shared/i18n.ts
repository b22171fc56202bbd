/**
 * Strings and number formats for both pages. Chinese is the default because the cashiers
 * and store admins we build for read it first; English is one button away and the choice is
 * remembered per browser, so a till configured once stays that way.
 */

export type Language = 'zh-CN' | 'en';

const zhCN = {
  'app.name': '会员识别',
  'lang.switch': 'English',

  'till.title': '收银台 · 会员识别',
  'till.lane': '通道',
  'till.idle': '等待会员到店…',
  'till.recent': '最近识别',
  'till.recentEmpty': '暂无识别记录',
  'till.unknownFace': '有未识别的顾客',
  'till.points': '积分',
  'till.balance': '储值余额',
  'till.confidence': '识别可信度',
  'till.close': '关闭',
  'till.settings': '设置',
  'till.setup.title': '连接收银台',
  'till.setup.hint': '请输入管理员提供的通道名称和收银台令牌。',
  'till.setup.lane': '通道',
  'till.setup.token': '收银台令牌',
  'till.setup.submit': '连接',
  'till.setup.cancel': '取消',
  'till.setup.cashier': '收银员（记录授权时使用）',

  'till.via.face': '刷脸识别',
  'till.via.member-qr': '会员码',
  'till.via.phone': '手机号',
  'till.via.payment': '付款',
  'till.via.enrolled': '新开通会员',
  'till.newMember': '新会员',
  'till.upgrade': '升级为 {tier}',
  'till.tierChange': '会员等级调整为 {tier}',
  'till.paymentAmount': '本单 {amount}',
  'till.couponUsed': '{title} 抵扣 {amount}',
  'prompt.apply': '用券',
  'prompt.applied': '已选用，收款时抵扣',
  'prompt.applying': '正在选用…',
  'prompt.applyFailed': '此券现在不能使用',
  'till.pointsEarned': '+{points} 积分',
  'till.faceConflict': '刷脸识别的顾客与付款人不一致，已标记待核查',
  'till.unknownFigure': '—',

  'scan.payment': '已读取付款码 · {channel}',
  'scan.paymentNoChannel': '已读取付款码',
  'scan.member-qr': '会员码 · {name}',
  'scan.phone': '手机号 · {name}',
  'scan.noMember': '未找到对应会员',
  'scan.rejected': '无法识别此码，请让顾客重新出示',
  'scan.faceEnrolled': '{name} 已开通刷脸识别',

  'channel.wechat': '微信支付',
  'channel.alipay': '支付宝',
  'channel.unionpay': '银联',
  'channel.ecny': '数字人民币',

  'consent.title': '刷脸识别授权',
  'consent.ask': '请询问顾客 {name}：',
  'consent.question': '是否同意刷脸识别会员？下次可直接刷脸享受会员价',
  'consent.note': '不同意也可以继续使用付款码、会员码或手机号。',
  'consent.agree': '同意',
  'consent.decline': '不同意',
  'consent.remaining': '剩余 {seconds} 秒',
  'consent.sending': '正在提交…',
  'consent.enrolled': '已录入',
  'consent.expired': '已超时，本次人脸未保存',
  'consent.network': '无法连接服务：{message}',
  'consent.status': '服务返回 {status}，没有错误说明。',

  'conn.unconfigured': '未连接',
  'conn.connecting': '正在连接…',
  'conn.connected': '已连接',
  'conn.reconnecting': '连接中断，正在重连…',
  'conn.refused': '连接被拒绝：{message}',
  'conn.unavailable': '无法加载实时连接脚本，请检查服务是否在运行',
  'conn.closed': '服务端断开了此收银台，请检查令牌后点“设置”重新连接',
  'conn.fix': '请点右上角“设置”检查通道和令牌。',

  'camera.unknown': '摄像头：未知',
  'camera.starting': '摄像头：启动中',
  'camera.running': '摄像头：正常',
  'camera.retrying': '摄像头：重试中',
  'camera.stopped': '摄像头：已停止',
  'camera.failed': '摄像头：故障',
  'scanner.unknown': '扫码枪：未知',
  'scanner.starting': '扫码枪：启动中',
  'scanner.running': '扫码枪：正常',
  'scanner.retrying': '扫码枪：重试中',
  'scanner.stopped': '扫码枪：已停止',
  'scanner.failed': '扫码枪：故障',

  'discount.none': '无折扣',

  'admin.title': '会员管理',
  'admin.login.title': '管理员登录',
  'admin.login.token': '管理员令牌',
  'admin.login.submit': '登录',
  'admin.logout': '退出登录',
  'admin.search.placeholder': '按姓名或手机号搜索',
  'admin.search.submit': '搜索',
  'admin.members': '会员',
  'admin.members.empty': '没有找到会员',
  'admin.create.title': '新建会员',
  'admin.create.name': '姓名',
  'admin.create.phone': '手机号（可选）',
  'admin.create.submit': '创建',
  'admin.detail.empty': '请从左侧选择一个会员',
  'admin.detail.id': '会员编号',
  'admin.detail.phone': '手机号',
  'admin.detail.created': '创建时间',
  'admin.detail.none': '—',
  'admin.consent.title': '人脸识别授权',
  'admin.consent.granted': '已授权（{method}，{when}，经办人 {staff}）',
  'admin.consent.missing': '尚未授权。录入人脸前必须记录会员的单独同意。',
  'admin.consent.method': '授权方式',
  'admin.consent.choose': '请选择…',
  'admin.consent.staff': '经办员工',
  'admin.consent.written': '书面签字',
  'admin.consent.verbal-at-till': '收银台口头同意',
  'admin.consent.app': '小程序/App 内同意',
  'admin.consent.signage': '店内告示',
  'admin.faces.title': '已录入人脸',
  'admin.faces.empty': '尚未录入人脸',
  'admin.faces.delete': '删除',
  'admin.faces.source.cli': '命令行',
  'admin.faces.source.admin-upload': '后台上传',
  'admin.faces.source.lane-capture': '收银台拍摄',
  'admin.enroll.title': '录入人脸',
  'admin.enroll.photo': '上传照片（最多 5 张）',
  'admin.enroll.upload': '从照片录入',
  'admin.enroll.lane': '收银通道',
  'admin.enroll.fromLane': '用该通道摄像头当前画面录入',
  'admin.enroll.needConsent': '请先填写授权方式和经办员工。',
  'admin.enroll.needPhoto': '请先选择照片。',
  'admin.enroll.done': '已录入 {count} 张人脸。',
  'admin.enroll.rejected': '未采用：{label}：{message}',
  'admin.qr.show': '会员码',
  'admin.qr.expires': '有效期至 {when}，请让会员在此之前扫码使用',
  'admin.qr.expired': '此会员码已过期，请重新生成',
  'admin.delete.member': '删除会员',
  'admin.delete.memberConfirm': '确定删除会员“{name}”及其全部人脸数据吗？此操作不可撤销。',
  'admin.delete.faceConfirm': '确定删除这张人脸数据吗？',
  'admin.delete.confirm': '删除',
  'admin.delete.cancel': '取消',
  'admin.deleted.member': '会员已删除。',
  'admin.deleted.face': '人脸已删除。',
  'admin.created': '会员已创建。',
  'admin.lanes.title': '收银通道与摄像头',
  'admin.lanes.refresh': '刷新',
  'admin.lanes.empty': '没有配置收银通道',
  'admin.lanes.lane': '通道',
  'admin.lanes.camera': '摄像头',
  'admin.lanes.frames': '帧（收到/丢弃）',
  'admin.lanes.scanner': '扫码枪',
  'admin.lanes.scans': '扫码（收到/丢弃）',
  'admin.lanes.tills': '在线收银屏',
  'admin.detail.tier': '会员等级',
  'admin.detail.points': '积分',
  'admin.detail.balance': '储值余额',
  'admin.detail.spend': '本期消费',
  'admin.detail.tierValue': '{tier}（{discount}）',
  'admin.consent.withdraw': '撤回刷脸授权',
  'admin.consent.withdrawConfirm': '确定撤回“{name}”的刷脸授权吗？其全部人脸数据将立即删除，会员资料、积分和余额保留。此操作不可撤销。',
  'admin.consent.withdrawn': '已撤回刷脸授权，已删除 {count} 张人脸。',
  'admin.reviews.title': '待复核',
  'admin.reviews.refresh': '刷新',
  'admin.reviews.empty': '没有待复核的付款',
  'admin.reviews.what': '刷脸识别为会员 {face}，付款的却是会员 {payer}',
  'admin.reviews.order': '订单 {order}',
  'admin.reviews.openFace': '查看刷脸会员',
  'admin.reviews.openPayer': '查看付款会员',

  'admin.segments.title': '会员分群',
  'admin.segments.refresh': '刷新',
  'admin.segments.total': '共 {n} 位会员',
  'admin.segments.lifecycle': '生命周期',
  'admin.segments.rfm': 'RFM 分群',
  'admin.segments.tags': '标签',
  'admin.segments.tag': '标签',
  'admin.segments.tagsEmpty': '还没有会员打过标签',
  'admin.segments.any': '不限',
  'admin.segments.show': '查看会员',
  'admin.segments.everyone': '全部会员',
  'admin.segments.tagged': '标签“{tag}”',
  'admin.segments.members': '{n} 位会员',
  'admin.segments.firstMembers': '显示前 {n} 位，完整名单请导出',
  'admin.segments.couponTitle': '给这些会员发券',
  'admin.segments.couponName': '券名称',
  'admin.segments.couponAmount': '减免金额（元）',
  'admin.segments.couponMinSpend': '最低消费（元，0 为不限）',
  'admin.segments.couponDays': '有效天数',
  'admin.segments.couponSubmit': '发券',
  'admin.segments.couponIssued': '已发券 {issued} 张；{optedOut} 位会员拒收营销，未发',
  'admin.segments.messageTitle': '给这些会员发消息',
  'admin.segments.messageTemplate': '短信/公众号模板编号',
  'admin.segments.messageText': '消息内容（{name} 会换成会员姓名）',
  'admin.segments.messageSubmit': '发送',
  'admin.segments.messageQueued': '{n} 条消息已排队发送',
  'admin.segments.delivery': '待发 {pending} · 已发 {sent} · 失败 {failed} · 拒收营销 {optedOut} · 无手机号 {noPhone}（点击刷新）',
  'segment.lifecycle.new': '新会员',
  'segment.lifecycle.active': '活跃',
  'segment.lifecycle.loyal': '忠诚',
  'segment.lifecycle.dormant': '沉睡',
  'segment.lifecycle.lost': '流失',
  'segment.rfm.important-value': '重要价值',
  'segment.rfm.important-keep': '重要保持',
  'segment.rfm.important-develop': '重要发展',
  'segment.rfm.important-retain': '重要挽留',
  'segment.rfm.general-value': '一般价值',
  'segment.rfm.general-keep': '一般保持',
  'segment.rfm.general-develop': '一般发展',
  'segment.rfm.general-retain': '一般挽留',

  'admin.rules.title': '营销规则',
  'admin.rules.refresh': '刷新',
  'admin.rules.save': '保存规则',
  'admin.rules.fromSettings': '当前使用配置文件中的默认规则',
  'admin.rules.saved': '{by} 于 {at} 保存',
  'admin.rules.savedNotice': '营销规则已保存，下次识别会员时生效',
  'admin.rules.rule.joinGift': '入会礼',
  'admin.rules.rule.birthday': '生日关怀',
  'admin.rules.rule.dormantWelcome': '沉睡唤醒',
  'admin.rules.rule.spendThreshold': '满额返券',
  'admin.rules.rule.nearTier': '临近升级提醒',
  'admin.rules.rule.pointsExpiring': '积分到期提醒',
  'admin.rules.rule.rechargeOffer': '储值推荐',
  'admin.rules.rule.referral': '老带新',
  'admin.rules.rule.checkIn': '签到',
  'admin.rules.field.enabled': '启用',
  'admin.rules.field.coupon': '礼券',
  'admin.rules.field.referrerCoupon': '推荐人礼券',
  'admin.rules.field.refereeCoupon': '新会员礼券',
  'admin.rules.field.title': '券名称',
  'admin.rules.field.amountOffYuan': '减免金额（元）',
  'admin.rules.field.rate': '折扣（如 0.9）',
  'admin.rules.field.minSpendYuan': '最低消费（元）',
  'admin.rules.field.validDays': '有效天数',
  'admin.rules.field.windowDays': '生日前后天数',
  'admin.rules.field.reward': '奖励方式',
  'admin.rules.field.reward.coupon': '发券',
  'admin.rules.field.reward.points-multiplier': '积分加倍',
  'admin.rules.field.pointsMultiplier': '积分倍数',
  'admin.rules.field.minOrderYuan': '单笔满（元）',
  'admin.rules.field.withinYuan': '距下一等级不足（元）',
  'admin.rules.field.withinDays': '到期前天数',
  'admin.rules.field.minPoints': '最少积分',
  'admin.rules.field.minPaymentYuan': '单笔消费满（元）',
  'admin.rules.field.points': '签到积分',
  'admin.faces.warning.single-face': '只有一张照片：请再从其他日期或角度补录一两张，会员才能被稳定认出。',
  'admin.faces.warning.faces-too-alike': '已录入的人脸几乎是同一张照片：请再从其他日期或角度补录一两张，会员才能被稳定认出。',
  'admin.recognition.title': '识别设置',
  'admin.recognition.refresh': '刷新',
  'admin.recognition.members': '已录入人脸的会员',
  'admin.recognition.budget': '陌生人被误认的上限',
  'admin.recognition.budgetValue': '每 {visits} 次到店至多 1 次',
  'admin.recognition.smallestFace': '可识别的最小人脸',
  'admin.recognition.facePx': '{px} 像素',
  'admin.recognition.noFaceNamed': '任何大小的人脸都不识别',
  'admin.recognition.faceSize': '人脸宽度',
  'admin.recognition.threshold': '匹配阈值',
  'admin.recognition.expectedNamed': '预计认出的会员',
  'admin.recognition.bucketRange': '{min}–{max} 像素',
  'admin.recognition.bucketFrom': '≥ {min} 像素',
  'admin.recognition.notNamed': '不识别',
  'admin.recognition.bucketsNote': '人脸越小，不同的人越容易相似，阈值随之收紧；会员越多，阈值也越严。',
  'admin.recognition.unknownTitle': '会员到店未被认出',
  'admin.recognition.unknownShare': '{share}（{total} 次中 {unknown} 次）',
  'admin.recognition.unknownNote': '自服务启动（{since}）以来，已录入人脸的会员付款时，收银台前的人脸未被认出为本人的比例。',
  'admin.recognition.unknownEmpty': '自服务启动（{since}）以来，还没有已录入人脸的会员付款。',
  'admin.recognition.calibration': '校准数据：{sets}；条件：{conditions}；生成于 {when}',
  'admin.audit.export': '导出处理记录',
  'admin.audit.exported': '处理记录已导出：{file}',
  'admin.error.network': '无法连接服务：{message}',
  'admin.error.status': '服务返回 {status}，没有错误说明。',
};

export type MessageKey = keyof typeof zhCN;

const en: Record<MessageKey, string> = {
  'app.name': 'Member recognition',
  'lang.switch': '中文',

  'till.title': 'Till · member recognition',
  'till.lane': 'Lane',
  'till.idle': 'Waiting for members…',
  'till.recent': 'Recent recognitions',
  'till.recentEmpty': 'No recognitions yet',
  'till.unknownFace': 'Unrecognized customer',
  'till.points': 'Points',
  'till.balance': 'Stored value',
  'till.confidence': 'Confidence',
  'till.close': 'Close',
  'till.settings': 'Settings',
  'till.setup.title': 'Connect this till',
  'till.setup.hint': 'Enter the lane name and the till token your admin gave you.',
  'till.setup.lane': 'Lane',
  'till.setup.token': 'Till token',
  'till.setup.submit': 'Connect',
  'till.setup.cancel': 'Cancel',
  'till.setup.cashier': 'Cashier (recorded with consents)',

  'till.via.face': 'Face',
  'till.via.member-qr': 'Member QR',
  'till.via.phone': 'Phone number',
  'till.via.payment': 'Payment',
  'till.via.enrolled': 'New membership',
  'till.newMember': 'New member',
  'till.upgrade': 'Upgraded to {tier}',
  'till.tierChange': 'Tier changed to {tier}',
  'till.paymentAmount': 'This order {amount}',
  'till.couponUsed': '{title}: {amount} off',
  'prompt.apply': 'Use coupon',
  'prompt.applied': 'Applied: taken off at payment',
  'prompt.applying': 'Applying…',
  'prompt.applyFailed': 'This coupon cannot be used now',
  'till.pointsEarned': '+{points} points',
  'till.faceConflict': 'Face and payer differ — flagged for review',
  'till.unknownFigure': '—',

  'scan.payment': 'Payment code read · {channel}',
  'scan.paymentNoChannel': 'Payment code read',
  'scan.member-qr': 'Member QR · {name}',
  'scan.phone': 'Phone number · {name}',
  'scan.noMember': 'No member found',
  'scan.rejected': 'Code not recognized; ask the customer to show it again',
  'scan.faceEnrolled': 'Face recognition enabled for {name}',

  'channel.wechat': 'WeChat Pay',
  'channel.alipay': 'Alipay',
  'channel.unionpay': 'UnionPay',
  'channel.ecny': 'e-CNY',

  'consent.title': 'Face recognition consent',
  'consent.ask': 'Please ask {name}:',
  'consent.question': 'Would you like to be recognized by face as a member? Next time your face alone gets you member prices.',
  'consent.note': 'Saying no is fine: the payment code, member QR or phone number keep working.',
  'consent.agree': 'Agree',
  'consent.decline': 'Decline',
  'consent.remaining': '{seconds} s left',
  'consent.sending': 'Sending…',
  'consent.enrolled': 'Face enrolled',
  'consent.expired': 'Timed out; this face was not kept',
  'consent.network': 'Cannot reach the service: {message}',
  'consent.status': 'The service answered {status} without an explanation.',

  'conn.unconfigured': 'Not connected',
  'conn.connecting': 'Connecting…',
  'conn.connected': 'Connected',
  'conn.reconnecting': 'Connection lost, reconnecting…',
  'conn.refused': 'Connection refused: {message}',
  'conn.unavailable': 'Could not load the live connection script; check that the service is running',
  'conn.closed': 'The service closed this till’s connection; check the token and reconnect under Settings',
  'conn.fix': 'Use Settings (top right) to check the lane and token.',

  'camera.unknown': 'Camera: unknown',
  'camera.starting': 'Camera: starting',
  'camera.running': 'Camera: running',
  'camera.retrying': 'Camera: retrying',
  'camera.stopped': 'Camera: stopped',
  'camera.failed': 'Camera: failed',
  'scanner.unknown': 'Scanner: unknown',
  'scanner.starting': 'Scanner: starting',
  'scanner.running': 'Scanner: running',
  'scanner.retrying': 'Scanner: retrying',
  'scanner.stopped': 'Scanner: stopped',
  'scanner.failed': 'Scanner: failed',

  'discount.none': 'No discount',

  'admin.title': 'Member admin',
  'admin.login.title': 'Admin sign-in',
  'admin.login.token': 'Admin token',
  'admin.login.submit': 'Sign in',
  'admin.logout': 'Sign out',
  'admin.search.placeholder': 'Search by name or phone',
  'admin.search.submit': 'Search',
  'admin.members': 'Members',
  'admin.members.empty': 'No members found',
  'admin.create.title': 'New member',
  'admin.create.name': 'Name',
  'admin.create.phone': 'Phone (optional)',
  'admin.create.submit': 'Create',
  'admin.detail.empty': 'Select a member on the left',
  'admin.detail.id': 'Member ID',
  'admin.detail.phone': 'Phone',
  'admin.detail.created': 'Created',
  'admin.detail.none': '—',
  'admin.consent.title': 'Face recognition consent',
  'admin.consent.granted': 'Granted ({method}, {when}, recorded by {staff})',
  'admin.consent.missing': 'No consent yet. Record the member’s separate consent before enrolling a face.',
  'admin.consent.method': 'Consent method',
  'admin.consent.choose': 'Choose…',
  'admin.consent.staff': 'Staff member',
  'admin.consent.written': 'Written, signed',
  'admin.consent.verbal-at-till': 'Verbal, at the till',
  'admin.consent.app': 'In the app / mini program',
  'admin.consent.signage': 'Store signage',
  'admin.faces.title': 'Enrolled faces',
  'admin.faces.empty': 'No faces enrolled',
  'admin.faces.delete': 'Delete',
  'admin.faces.source.cli': 'Command line',
  'admin.faces.source.admin-upload': 'Admin upload',
  'admin.faces.source.lane-capture': 'Till camera',
  'admin.enroll.title': 'Enroll a face',
  'admin.enroll.photo': 'Photos (up to 5)',
  'admin.enroll.upload': 'Enroll from photos',
  'admin.enroll.lane': 'Lane',
  'admin.enroll.fromLane': 'Enroll from this lane’s live camera',
  'admin.enroll.needConsent': 'Fill in the consent method and staff member first.',
  'admin.enroll.needPhoto': 'Choose a photo first.',
  'admin.enroll.done': 'Enrolled {count} face(s).',
  'admin.enroll.rejected': 'Not used: {label}: {message}',
  'admin.qr.show': 'Member QR',
  'admin.qr.expires': 'Valid until {when}; the member must use it before then',
  'admin.qr.expired': 'This member QR has expired; generate a new one',
  'admin.delete.member': 'Delete member',
  'admin.delete.memberConfirm': 'Delete member “{name}” and all their face data? This cannot be undone.',
  'admin.delete.faceConfirm': 'Delete this face?',
  'admin.delete.confirm': 'Delete',
  'admin.delete.cancel': 'Cancel',
  'admin.deleted.member': 'Member deleted.',
  'admin.deleted.face': 'Face deleted.',
  'admin.created': 'Member created.',
  'admin.lanes.title': 'Lanes and cameras',
  'admin.lanes.refresh': 'Refresh',
  'admin.lanes.empty': 'No lanes configured',
  'admin.lanes.lane': 'Lane',
  'admin.lanes.camera': 'Camera',
  'admin.lanes.frames': 'Frames (in/dropped)',
  'admin.lanes.scanner': 'Scanner',
  'admin.lanes.scans': 'Scans (in/dropped)',
  'admin.lanes.tills': 'Tills online',
  'admin.detail.tier': 'Tier',
  'admin.detail.points': 'Points',
  'admin.detail.balance': 'Stored value',
  'admin.detail.spend': 'Spend this period',
  'admin.detail.tierValue': '{tier} ({discount})',
  'admin.consent.withdraw': 'Withdraw face consent',
  'admin.consent.withdrawConfirm': 'Withdraw face consent for “{name}”? All their face data is deleted at once; the member, points and balance stay. This cannot be undone.',
  'admin.consent.withdrawn': 'Face consent withdrawn; {count} face(s) deleted.',
  'admin.reviews.title': 'For review',
  'admin.reviews.refresh': 'Refresh',
  'admin.reviews.empty': 'No payments to review',
  'admin.reviews.what': 'Face matched member {face} while member {payer} paid',
  'admin.reviews.order': 'Order {order}',
  'admin.reviews.openFace': 'Open face member',
  'admin.reviews.openPayer': 'Open paying member',

  'admin.segments.title': 'Member segments',
  'admin.segments.refresh': 'Refresh',
  'admin.segments.total': '{n} members in all',
  'admin.segments.lifecycle': 'Lifecycle',
  'admin.segments.rfm': 'RFM segment',
  'admin.segments.tags': 'Tags',
  'admin.segments.tag': 'Tag',
  'admin.segments.tagsEmpty': 'No member has a tag yet',
  'admin.segments.any': 'Any',
  'admin.segments.show': 'Show members',
  'admin.segments.everyone': 'All members',
  'admin.segments.tagged': 'tag “{tag}”',
  'admin.segments.members': '{n} members',
  'admin.segments.firstMembers': 'the first {n} shown; export the list for all',
  'admin.segments.couponTitle': 'Give these members a coupon',
  'admin.segments.couponName': 'Coupon name',
  'admin.segments.couponAmount': 'Amount off (¥)',
  'admin.segments.couponMinSpend': 'Minimum spend (¥, 0 = any)',
  'admin.segments.couponDays': 'Valid for (days)',
  'admin.segments.couponSubmit': 'Issue coupons',
  'admin.segments.couponIssued': '{issued} coupons issued; {optedOut} members declined marketing and got none',
  'admin.segments.messageTitle': 'Send these members a message',
  'admin.segments.messageTemplate': 'SMS / WeChat template code',
  'admin.segments.messageText': 'Message ({name} becomes the member\'s name)',
  'admin.segments.messageSubmit': 'Send',
  'admin.segments.messageQueued': '{n} messages queued for sending',
  'admin.segments.delivery': 'Waiting {pending} · sent {sent} · failed {failed} · declined marketing {optedOut} · no phone {noPhone} (click to refresh)',
  'segment.lifecycle.new': 'New',
  'segment.lifecycle.active': 'Active',
  'segment.lifecycle.loyal': 'Loyal',
  'segment.lifecycle.dormant': 'Dormant',
  'segment.lifecycle.lost': 'Lost',
  'segment.rfm.important-value': 'Important value',
  'segment.rfm.important-keep': 'Important keep',
  'segment.rfm.important-develop': 'Important develop',
  'segment.rfm.important-retain': 'Important retain',
  'segment.rfm.general-value': 'General value',
  'segment.rfm.general-keep': 'General keep',
  'segment.rfm.general-develop': 'General develop',
  'segment.rfm.general-retain': 'General retain',

  'admin.rules.title': 'Campaign rules',
  'admin.rules.refresh': 'Refresh',
  'admin.rules.save': 'Save rules',
  'admin.rules.fromSettings': 'The default rules from the settings file are in force',
  'admin.rules.saved': 'Saved by {by} on {at}',
  'admin.rules.savedNotice': 'Campaign rules saved; they apply from the next member seen',
  'admin.rules.rule.joinGift': 'Join gift',
  'admin.rules.rule.birthday': 'Birthday',
  'admin.rules.rule.dormantWelcome': 'Dormant wake-up',
  'admin.rules.rule.spendThreshold': 'Spend-threshold coupon',
  'admin.rules.rule.nearTier': 'Near the next tier',
  'admin.rules.rule.pointsExpiring': 'Points expiring',
  'admin.rules.rule.rechargeOffer': 'Recharge offer',
  'admin.rules.rule.referral': 'Referral',
  'admin.rules.rule.checkIn': 'Check-in',
  'admin.rules.field.enabled': 'On',
  'admin.rules.field.coupon': 'Coupon',
  'admin.rules.field.referrerCoupon': 'Referrer\'s coupon',
  'admin.rules.field.refereeCoupon': 'New member\'s coupon',
  'admin.rules.field.title': 'Coupon name',
  'admin.rules.field.amountOffYuan': 'Amount off (¥)',
  'admin.rules.field.rate': 'Price multiplier (e.g. 0.9)',
  'admin.rules.field.minSpendYuan': 'Minimum spend (¥)',
  'admin.rules.field.validDays': 'Valid for (days)',
  'admin.rules.field.windowDays': 'Days around the birthday',
  'admin.rules.field.reward': 'Reward',
  'admin.rules.field.reward.coupon': 'Coupon',
  'admin.rules.field.reward.points-multiplier': 'Points multiplied',
  'admin.rules.field.pointsMultiplier': 'Points multiplier',
  'admin.rules.field.minOrderYuan': 'Order of at least (¥)',
  'admin.rules.field.withinYuan': 'Within (¥) of the next tier',
  'admin.rules.field.withinDays': 'Days before expiry',
  'admin.rules.field.minPoints': 'At least (points)',
  'admin.rules.field.minPaymentYuan': 'Payment of at least (¥)',
  'admin.rules.field.points': 'Points per check-in',
  'admin.faces.warning.single-face': 'One photo: add one or two more from another day or angle so the member is named reliably.',
  'admin.faces.warning.faces-too-alike': 'The faces are nearly the same photo: add one or two from another day or angle so the member is named reliably.',
  'admin.recognition.title': 'Recognition',
  'admin.recognition.refresh': 'Refresh',
  'admin.recognition.members': 'Members with faces',
  'admin.recognition.budget': 'Strangers named as a member',
  'admin.recognition.budgetValue': 'at most 1 in {visits} visits',
  'admin.recognition.smallestFace': 'Smallest face named',
  'admin.recognition.facePx': '{px} px',
  'admin.recognition.noFaceNamed': 'No face size is named',
  'admin.recognition.faceSize': 'Face width',
  'admin.recognition.threshold': 'Match threshold',
  'admin.recognition.expectedNamed': 'Members expected named',
  'admin.recognition.bucketRange': '{min}–{max} px',
  'admin.recognition.bucketFrom': '≥ {min} px',
  'admin.recognition.notNamed': 'not named',
  'admin.recognition.bucketsNote': 'The smaller the face, the more alike different people look, so the threshold tightens; more members tighten it too.',
  'admin.recognition.unknownTitle': 'Members’ visits that stayed unknown',
  'admin.recognition.unknownShare': '{share} ({unknown} of {total} visits)',
  'admin.recognition.unknownNote': 'Since the service started ({since}): payments by members with an enrolled face where the face at the scanner was not named as them.',
  'admin.recognition.unknownEmpty': 'No member with an enrolled face has paid since the service started ({since}).',
  'admin.recognition.calibration': 'Calibrated on {sets}; conditions: {conditions}; made {when}',
  'admin.audit.export': 'Export processing log',
  'admin.audit.exported': 'Processing log exported: {file}',
  'admin.error.network': 'Cannot reach the service: {message}',
  'admin.error.status': 'The service answered {status} without an explanation.',
};

const MESSAGES: Record<Language, Record<MessageKey, string>> = { 'zh-CN': zhCN, en };
const STORAGE_KEY = 'memberlens.language';

let current: Language = readStoredLanguage();
const listeners = new Set<() => void>();

function readStoredLanguage(): Language {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh-CN';
  } catch {
    // Storage can be disabled by browser policy; the page still works in the default language.
    return 'zh-CN';
  }
}

export function language(): Language {
  return current;
}

export function setLanguage(next: Language): void {
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered across reloads, but this session still switches.
  }
  applyTranslations(document);
  for (const listener of listeners) listener();
}

/** Runs after every language switch, for text the page renders itself. */
export function onLanguageChange(listener: () => void): void {
  listeners.add(listener);
}

/** Whether `key` has a translation: labels built from data (campaign rule names) fall back to the key. */
export function hasMessage(key: string): key is MessageKey {
  return Object.hasOwn(zhCN, key);
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  return MESSAGES[current][key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/**
 * Static markup names its strings with `data-i18n` (text), `data-i18n-placeholder` and
 * `data-i18n-aria-label`, so the HTML carries no language of its own beyond the first paint.
 */
export function applyTranslations(root: ParentNode): void {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = t(el.dataset.i18n as MessageKey);
  for (const el of root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder as MessageKey);
  }
  for (const el of root.querySelectorAll<HTMLElement>('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel as MessageKey));
  }
}

/** Wires the switch button that every page carries and paints the current language. */
export function installLanguageSwitch(button: HTMLButtonElement): void {
  button.addEventListener('click', () => setLanguage(current === 'zh-CN' ? 'en' : 'zh-CN'));
  applyTranslations(document);
}

/**
 * A price multiplier as the cashier says it: Chinese counts what is paid (0.9 → 9折,
 * 0.85 → 85折), English counts what is taken off (0.9 → 10% off).
 */
export function formatDiscount(rate: number): string {
  // Whole percent first: 0.9 * 100 is 90.00000000000001 in floating point.
  const paidPercent = Math.round(rate * 100);
  if (paidPercent >= 100) return t('discount.none');
  if (current === 'en') return `${100 - paidPercent}% off`;
  return paidPercent % 10 === 0 ? `${paidPercent / 10}折` : `${paidPercent}折`;
}

const money = new Intl.NumberFormat('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatYuan(yuan: number): string {
  return `¥${money.format(yuan)}`;
}

export function formatCount(n: number): string {
  return new Intl.NumberFormat(current).format(n);
}

export function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/** A share with one decimal, e.g. 0.875 → 87.5%. */
export function formatShare(fraction: number): string {
  return new Intl.NumberFormat(current, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(fraction);
}

export function formatTime(at: Date): string {
  return at.toLocaleTimeString(current, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function formatDateTime(at: Date): string {
  return at.toLocaleString(current, { dateStyle: 'medium', timeStyle: 'short', hour12: false });
}
