/**
 * @module Names of the synthetic Ningbo-like city: district bureaus with their real administrative
 * codes and approximate centres, precincts, community name parts, surnames and given names.
 */

export interface DistrictSpec {
  code: string;
  name: string;
  nameEn: string;
  /** Approximate centre (lon, lat); districts are Voronoi regions around these. */
  lon: number;
  lat: number;
  /** Land area, km² (real, rounded): districts are Voronoi regions weighted by its square root. */
  area: number;
  /** Relative resident population, for placing households. */
  weight: number;
  /** Served by the metro (urban core). */
  metro: boolean;
  /** 区 for a district, 市 for a county-level city, 县 for a county. */
  suffix: '区' | '市' | '县';
  precincts: ReadonlyArray<readonly [name: string, pinyin: string]>;
}

export const CITY = { code: '330200', name: '宁波市公安局', nameEn: 'Ningbo Municipal Public Security Bureau' } as const;

/** Bounding box of the city, degrees. */
export const BBOX = { west: 121.0, east: 122.2, south: 29.0, north: 30.4 } as const;

export const DISTRICTS: readonly DistrictSpec[] = [
  { code: '330203', name: '海曙', area: 595, suffix: '区', nameEn: 'Haishu', lon: 121.38, lat: 29.86, weight: 1.0, metro: true,
    precincts: [['南门', 'Nanmen'], ['西门', 'Ximen'], ['月湖', 'Yuehu'], ['鼓楼', 'Gulou'], ['白云', 'Baiyun'], ['石碶', 'Shiqi']] },
  { code: '330205', name: '江北', area: 208, suffix: '区', nameEn: 'Jiangbei', lon: 121.52, lat: 29.96, weight: 0.5, metro: true,
    precincts: [['中马', 'Zhongma'], ['白沙', 'Baisha'], ['孔浦', 'Kongpu'], ['文教', 'Wenjiao'], ['慈城', 'Cicheng']] },
  { code: '330211', name: '镇海', area: 246, suffix: '区', nameEn: 'Zhenhai', lon: 121.64, lat: 30.02, weight: 0.5, metro: true,
    precincts: [['招宝山', 'Zhaobaoshan'], ['蛟川', 'Jiaochuan'], ['骆驼', 'Luotuo'], ['庄市', 'Zhuangshi'], ['澥浦', 'Xiepu']] },
  { code: '330206', name: '北仑', area: 599, suffix: '区', nameEn: 'Beilun', lon: 121.92, lat: 29.88, weight: 0.8, metro: true,
    precincts: [['新碶', 'Xinqi'], ['小港', 'Xiaogang'], ['大碶', 'Daqi'], ['霞浦', 'Xiapu'], ['柴桥', 'Chaiqiao'], ['春晓', 'Chunxiao']] },
  { code: '330212', name: '鄞州', area: 814, suffix: '区', nameEn: 'Yinzhou', lon: 121.62, lat: 29.78, weight: 1.6, metro: true,
    precincts: [['钟公庙', 'Zhonggongmiao'], ['首南', 'Shounan'], ['中河', 'Zhonghe'], ['下应', 'Xiaying'], ['东吴', 'Dongwu'], ['五乡', 'Wuxiang']] },
  { code: '330213', name: '奉化', area: 1268, suffix: '区', nameEn: 'Fenghua', lon: 121.40, lat: 29.62, weight: 0.6, metro: false,
    precincts: [['锦屏', 'Jinping'], ['岳林', 'Yuelin'], ['江口', 'Jiangkou'], ['溪口', 'Xikou'], ['裘村', 'Qiucun'], ['莼湖', 'Chunhu']] },
  { code: '330281', name: '余姚', area: 1501, suffix: '市', nameEn: 'Yuyao', lon: 121.15, lat: 30.00, weight: 1.25, metro: false,
    precincts: [['阳明', 'Yangming'], ['梨洲', 'Lizhou'], ['凤山', 'Fengshan'], ['兰江', 'Lanjiang'], ['泗门', 'Simen'], ['马渚', 'Mazhu']] },
  { code: '330282', name: '慈溪', area: 1361, suffix: '市', nameEn: 'Cixi', lon: 121.35, lat: 30.22, weight: 1.8, metro: false,
    precincts: [['浒山', 'Hushan'], ['白沙路', 'Baishalu'], ['古塘', 'Gutang'], ['坎墩', 'Kandun'], ['周巷', 'Zhouxiang'], ['观海卫', 'Guanhaiwei']] },
  { code: '330226', name: '宁海', area: 1843, suffix: '县', nameEn: 'Ninghai', lon: 121.43, lat: 29.28, weight: 0.7, metro: false,
    precincts: [['跃龙', 'Yuelong'], ['桃源', 'Taoyuan'], ['梅林', 'Meilin'], ['西店', 'Xidian'], ['长街', 'Changjie']] },
  { code: '330225', name: '象山', area: 1382, suffix: '县', nameEn: 'Xiangshan', lon: 121.87, lat: 29.45, weight: 0.55, metro: false,
    precincts: [['丹东', 'Dandong'], ['丹西', 'Danxi'], ['爵溪', 'Juexi'], ['石浦', 'Shipu'], ['西周', 'Xizhou']] },
];

/** Words for community names (社区), with pinyin. */
export const COMMUNITY_WORDS: ReadonlyArray<readonly [string, string]> = [
  ['和平', 'Heping'], ['幸福', 'Xingfu'], ['东方', 'Dongfang'], ['新华', 'Xinhua'], ['阳光', 'Yangguang'],
  ['青林', 'Qinglin'], ['丽园', 'Liyuan'], ['翠柏', 'Cuibai'], ['明湖', 'Minghu'], ['长丰', 'Changfeng'],
  ['春江', 'Chunjiang'], ['金桥', 'Jinqiao'], ['文昌', 'Wenchang'], ['安澜', 'Anlan'], ['兴宁', 'Xingning'],
  ['清河', 'Qinghe'], ['福明', 'Fuming'], ['锦绣', 'Jinxiu'], ['海晏', 'Haiyan'], ['桂花', 'Guihua'],
  ['望春', 'Wangchun'], ['常青', 'Changqing'], ['康乐', 'Kangle'], ['团结', 'Tuanjie'], ['红旗', 'Hongqi'],
  ['前进', 'Qianjin'], ['同心', 'Tongxin'], ['太平', 'Taiping'], ['永丰', 'Yongfeng'], ['新城', 'Xincheng'],
];

export const SURNAMES = [
  '王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '林',
  '高', '罗', '郑', '梁', '谢', '宋', '唐', '许', '邓', '冯', '韩', '曹', '曾', '彭', '蔡', '潘', '田', '董',
  '袁', '于', '余', '叶', '蒋', '杜', '苏', '魏', '程', '吕', '丁', '沈', '任', '姚', '卢', '傅', '钟', '姜',
  '崔', '谭', '廖', '范', '汪', '陆', '金', '石', '戴', '贾', '夏', '邱', '方', '侯', '邹', '孟', '秦', '应',
  '俞', '竺', '虞', '史', '毛', '顾', '邵', '钱', '严', '洪', '孔', '童', '胡', '舒', '鲍', '屠',
] as const;

export const GIVEN_CHARS = [
  '伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀',
  '霞', '平', '刚', '桂', '英', '华', '文', '辉', '建', '国', '玲', '红', '斌', '波', '宇', '浩', '凯', '鹏',
  '婷', '雪', '琳', '晨', '欣', '怡', '佳', '俊', '峰', '海', '燕', '萍', '亮', '鑫', '宁', '甬', '慧', '志',
] as const;

export const STREET_NAMES = [
  '中山路', '解放路', '人民路', '百丈路', '江东路', '天童路', '钱湖路', '新河路', '环城路', '镇明路',
  '兴宁路', '世纪大道', '鄞州大道', '四明路', '望春路', '庄桥路', '长春路', '通途路', '民安路', '东海路',
] as const;

/** Where visitors come from: ID card region code, city name. 武汉 is the designated high-risk region. */
export const ORIGINS: ReadonlyArray<readonly [code: string, city: string]> = [
  ['420102', '武汉'], ['310101', '上海'], ['330106', '杭州'], ['320102', '南京'], ['110105', '北京'],
  ['440106', '广州'], ['330302', '温州'], ['340104', '合肥'],
];

export const HIGH_RISK_CITY = '武汉';
